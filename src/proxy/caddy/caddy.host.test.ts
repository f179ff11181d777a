/**
 * refit as a guest in an operator's Caddy (an operator-written Caddyfile with its own site
 * blocks, ACLs and error page), in both modes: `api` (upstreams changed through the admin API, Caddy
 * loading its config anew at every change: requests on kept-alive connections can be lost at
 * those reloads, never answered wrongly) and `router` (the operator's Caddy forwards to refit's
 * router and is never changed by refit: zero losses). The shared contract and guest checks.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe } from 'vitest';
import { suiteName } from '../../../test/support/suite.js';
import { useContractWorld } from '../contract.case.js';
import { guestSuite } from '../guest/guest.case.js';

const SUITE = suiteName('caddyguest');
const world = useContractWorld(SUITE);
const dir = mkdtempSync(join(tmpdir(), 'refit-caddyguest-'));
// The operator's workers (an unprivileged user) reach refit's files and router socket inside it.
chmodSync(dir, 0o755);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('api mode', () => guestSuite('caddy', join(dir, 'include'), world, { keepAliveSafe: false }));
describe('router mode', () => guestSuite('caddy-router', join(dir, 'router'), world, { keepAliveSafe: true }));
