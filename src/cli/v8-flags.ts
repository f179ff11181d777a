/**
 * @module cli/v8-flags
 * V8 settings for the refit process (docs/maintenance.md, "Many sites in one window"), set
 * before any other module is loaded: main.ts imports this first.
 *
 * WebAssembly stays on V8's baseline compiler: undici parses HTTP with a WebAssembly build of
 * llhttp, and tiering that up to the optimizing compiler, a second after the first registry
 * request, took about 35 MB for a moment, the peak RSS of a pass. refit's few registry and
 * webhook answers do not need the faster parser.
 *
 * The young generation's bound (`--max-semi-space-size=4`: MB per semi-space, V8's default is
 * 16) is in main.ts's `#!` line instead, as V8 reads it only at start: about 25 MB less RSS;
 * scavenges come more often, and refit's time goes to Docker and the sites, not to its heap.
 */
import { setFlagsFromString } from 'node:v8';

setFlagsFromString('--liftoff-only');
