/**
 * @module health/port
 * Waits for a container that has just started to accept connections on its port, polling
 * with short connects, so the first health attempt is not spent (with a whole interval after
 * it) on an app still starting. Bounded: it returns after `boundMs` whether or not the port
 * accepts, and the attempts then run as configured.
 */
import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

/** Between two connects: short against an app's start-up (hundreds of ms), long against a connect's cost. */
const POLL_MS = 25;

/** Resolves with how long it waited and whether the port accepted a connection in that time. */
export async function untilAccepting(ip: string, port: number, boundMs: number, signal?: AbortSignal): Promise<{ accepted: boolean; waitedMs: number }> {
  const started = performance.now();
  const left = () => boundMs - (performance.now() - started);
  for (;;) {
    signal?.throwIfAborted();
    if (await accepts(ip, port, Math.max(1, left()))) return { accepted: true, waitedMs: Math.round(performance.now() - started) };
    if (left() <= 0) return { accepted: false, waitedMs: Math.round(performance.now() - started) };
    await sleep(Math.min(POLL_MS, Math.max(0, left())), undefined, { signal }).catch(() => signal?.throwIfAborted());
  }
}

/** How long a connection that was accepted may take to close gracefully before it is cut. */
const CLOSE_GRACE_MS = 1000;

function accepts(ip: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: ip, port });
    socket.on('error', () => resolve(false));
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(false);
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve(true);
      // Closed the polite way (our FIN, then whatever the app says is read and dropped): an
      // app that greets a connection never writes into a reset one.
      socket.end();
      socket.resume();
      const cut = setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
      socket.once('close', () => clearTimeout(cut));
    });
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}
