/**
 * @module merge/limits
 * Caps on what refit reads from images and customer dirs. A config tree is small; anything
 * beyond these bounds is either a mistake or an attack, and must not exhaust the host.
 */
export interface TreeLimits {
  /** Largest single file copied (bytes); bigger ones are refused and reported. */
  maxFileBytes: number;
  /** All file bytes of one tree together; exceeding it fails the whole read. */
  maxTotalBytes: number;
  /** Files, directories and links of one tree together; exceeding it fails the whole read. */
  maxEntries: number;
  /** Directory nesting below the root; deeper directories are refused. */
  maxDepth: number;
  /** Files larger than this are merged as whole files, like binaries. */
  maxTextMergeBytes: number;
}

export const DEFAULT_LIMITS: TreeLimits = {
  maxFileBytes: 16 * 1024 * 1024,
  maxTotalBytes: 256 * 1024 * 1024,
  maxEntries: 50_000,
  maxDepth: 32,
  maxTextMergeBytes: 8 * 1024 * 1024,
};

export function withDefaults(limits: Partial<TreeLimits> = {}): TreeLimits {
  return { ...DEFAULT_LIMITS, ...limits };
}
