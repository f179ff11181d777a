/**
 * What refit's HAProxy adapter leaves when it is killed between the two runtime commands of an
 * add: the server is in state.json with a slot, and the slot has its address (`set server …
 * addr`) but is still in maintenance (`set server … state ready` never came).
 */
import { join } from 'node:path';
import { backendOf } from '../../src/proxy/haproxy/render.js';
import { RuntimeApi } from '../../src/proxy/haproxy/runtime.js';
import { withSlots } from '../../src/proxy/haproxy/slots.js';
import { readState, writeState } from '../../src/proxy/state-file.js';
import { findServer, withServer } from '../../src/proxy/state.js';
import type { Upstream } from '../../src/proxy/types.js';

export async function halfAddHaproxy(runDir: string, siteId: string, up: Upstream): Promise<void> {
  const stateFile = join(runDir, 'state.json');
  const state = withSlots(withServer(readState(stateFile), siteId, up, 'ready'));
  writeState(stateFile, state);
  const slot = findServer(state, siteId, up.name)!.slot!;
  const api = new RuntimeApi(join(runDir, 'admin.sock'));
  const target = `${backendOf(siteId)}/${slot}`;
  await api.expect(`set server ${target} state maint`);
  await api.expect(`set server ${target} addr ${up.ip} port ${up.port}`, /changed|no need to change/);
}
