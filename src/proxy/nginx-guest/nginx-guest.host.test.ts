/**
 * refit as a guest in an operator's nginx (an operator-written nginx.conf with its own server
 * blocks, ACLs and error page), in both modes: `include` (refit's upstream files, the
 * operator's nginx reloaded at every change: requests on kept-alive connections can be lost at
 * those reloads, never answered wrongly) and `router` (the operator's nginx forwards to refit's
 * router and is never reloaded by refit: zero losses). The shared contract and guest checks.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe } from 'vitest';
import { suiteName } from '../../../test/support/suite.js';
import { useContractWorld } from '../contract.case.js';
import { guestSuite } from '../guest/guest.case.js';

const SUITE = suiteName('nginxguest');
const world = useContractWorld(SUITE);
const dir = mkdtempSync(join(tmpdir(), 'refit-nginxguest-'));
// The operator's workers (an unprivileged user) reach refit's files and router socket inside it.
chmodSync(dir, 0o755);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('include mode', () => guestSuite('nginx-guest', join(dir, 'include'), world, { keepAliveSafe: false }));
describe('router mode', () => guestSuite('nginx-router', join(dir, 'router'), world, { keepAliveSafe: true }));
