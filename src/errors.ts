/**
 * @module errors
 * Expected outcomes are values; surprises are errors. A RefitError carries the exit code the
 * CLI must use and a hint that tells the operator what to do next.
 */

export type ErrorCode =
  | 'usage' // bad command line
  | 'config' // bad host configuration file or value
  | 'label' // a container's refit.* labels are malformed
  | 'docker' // the Docker Engine refused or is unreachable
  | 'registry' // a registry answered badly or not at all
  | 'compose' // a compose command or file failed
  | 'merge' // config merge failed
  | 'health' // health check could not run
  | 'proxy' // reverse proxy control failed
  | 'journal' // journal / lock problems
  | 'unsafe-path' // a customer-controlled path tried to lead us out of a tree
  | 'internal';

/** Exit codes are part of the public contract (SPEC.md). */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

const usageCodes: ReadonlySet<ErrorCode> = new Set(['usage', 'config', 'label']);

export class RefitError extends Error {
  override readonly name = 'RefitError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly hint?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }

  get exitCode(): number {
    return usageCodes.has(this.code) ? EXIT.usage : EXIT.failed;
  }
}

/** One line for the operator: message, then the hint after a dash. */
export function oneLine(err: unknown): string {
  if (err instanceof RefitError) {
    return err.hint ? `${err.message} (${err.hint})` : err.message;
  }
  if (err instanceof Error) return err.message;
  return String(err);
}

export function isRefitError(err: unknown, code?: ErrorCode): err is RefitError {
  return err instanceof RefitError && (code === undefined || err.code === code);
}
