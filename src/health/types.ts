/**
 * @module health/types
 * The health checker's vocabulary: what is checked (a target), how (options), and what came of
 * it (a verdict with every attempt and every HTTP request kept for the report).
 */
import type { HealthConfig } from '../config/schema.js';

/** One container as the proxy would reach it: internal IP and port, the site's hostnames. */
export interface HealthTarget {
  ip: string;
  port: number;
  /** The site's hostnames, preferred first; empty: the Host header is the IP. */
  vhosts: string[];
  /** The custom health endpoint, probed first on every attempt. */
  healthPath: string;
}

/** The host configuration's `health` section. `path` is only the default for `healthPath`. */
export type HealthOptions = HealthConfig;

/** One HTTP request as it was sent and answered. */
export interface HealthRequest {
  /** Path and query sent. */
  path: string;
  /** Host header sent. */
  host: string;
  /** Sent with X-Forwarded-Proto: https and X-Forwarded-SSL: on (after a redirect to https://). */
  forwardedHttps: boolean;
  /** null: no HTTP answer (see error). */
  status: number | null;
  /** The Location header of a redirect. */
  location?: string;
  durationMs: number;
  /** Body bytes read; reading stops at maxBodyBytes. */
  bodyBytes: number;
  /** The body went on past maxBodyBytes and was not read to its end. */
  truncated: boolean;
  /** Why there was no answer: connect timeout, refused, response timeout, ... */
  error?: string;
  /** Through a proxy: the server it says answered (null: it did not say). */
  servedBy?: string | null;
}

/** Which endpoint decided an attempt: the custom one, or `/` because the custom one said 404. */
export type Endpoint = 'custom' | 'default';

export interface Attempt {
  /** 1-based. */
  number: number;
  passed: boolean;
  decidedBy: Endpoint;
  /** Path first requested on the deciding endpoint. */
  path: string;
  /** Host header first sent to the deciding endpoint. */
  host: string;
  /** Final status of the deciding endpoint's redirect chain; null when it did not answer. */
  status: number | null;
  /** URLs followed after the first request, in order (e.g. `https://example.com/`). */
  redirects: string[];
  durationMs: number;
  /** Why the attempt failed; absent when it passed. */
  reason?: string;
  /** Every request of the attempt in order, the custom endpoint's first. */
  requests: HealthRequest[];
}

/** `portWaitMs`: how long the check waited for the container's port before its first attempt (not through a proxy). */
export type Verdict = ({ healthy: true; attempts: Attempt[] } | { healthy: false; reason: string; attempts: Attempt[] }) & { portWaitMs?: number };
