/**
 * @module cli/v8-flags
 * V8 settings for the refit process, set before any other module is loaded (main.ts imports
 * this first). WebAssembly stays on V8's baseline compiler: undici parses HTTP with a
 * WebAssembly build of llhttp, and tiering it up to the optimizing compiler, a second or so
 * after the first registry request, took about 35 MB of memory for a moment (the peak RSS of
 * a pass; docs/maintenance.md, "Many sites in one window"). refit's few registry and webhook
 * answers parse as fast for it on the baseline code.
 */
import { setFlagsFromString } from 'node:v8';

setFlagsFromString('--liftoff-only');
