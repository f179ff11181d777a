/**
 * @module registry/tag-rules
 * The operator's tag rules (labels `refit.tag.include`, `refit.tag.exclude`, `refit.min-age`)
 * applied to the tags a policy ranked, with a reason for each tag passed over. The patterns
 * come from customer-writable compose files, so they run in a VM context with a time limit: a
 * catastrophic pattern costs one container its check, never the pass.
 */
import { runInNewContext } from 'node:vm';
import type { TagRules } from '../site/labels.js';

export interface PassedOver {
  tag: string;
  reason: string;
}

/** Longest a site's patterns may run over its tag list. */
const PATTERN_TIME_LIMIT_MS = 1000;

export function hasTagRules(rules: TagRules): boolean {
  return rules.include !== null || rules.exclude !== null || rules.minAge !== null;
}

/** Splits `tags` (newest first) into those the include/exclude patterns keep and those they pass over. */
export function filterByPatterns(tags: readonly string[], rules: TagRules, timeoutMs = PATTERN_TIME_LIMIT_MS): { kept: string[]; passedOver: PassedOver[] } {
  if (!tags.length || (rules.include === null && rules.exclude === null)) return { kept: [...tags], passedOver: [] };
  let verdicts: unknown;
  try {
    verdicts = runInNewContext(
      `(() => {
        const include = includeSource === null ? null : new RegExp(includeSource);
        const exclude = excludeSource === null ? null : new RegExp(excludeSource);
        return JSON.stringify(tags.map((t) => (include && !include.test(t) ? 'include' : exclude && exclude.test(t) ? 'exclude' : 'keep')));
      })()`,
      { tags: [...tags], includeSource: rules.include, excludeSource: rules.exclude },
      { timeout: timeoutMs },
    );
  } catch (err) {
    const timedOut = (err as { code?: string }).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT';
    throw new Error(timedOut ? `refit.tag.include/refit.tag.exclude took longer than ${timeoutMs} ms over ${tags.length} tags; simplify the patterns` : `refit.tag.include/refit.tag.exclude cannot be applied: ${(err as Error).message}`);
  }
  const list = JSON.parse(verdicts as string) as ('include' | 'exclude' | 'keep')[];
  const kept: string[] = [];
  const passedOver: PassedOver[] = [];
  tags.forEach((tag, i) => {
    if (list[i] === 'keep') kept.push(tag);
    else if (list[i] === 'include') passedOver.push({ tag, reason: `does not match refit.tag.include ${rules.include}` });
    else passedOver.push({ tag, reason: `matches refit.tag.exclude ${rules.exclude}` });
  });
  return { kept, passedOver };
}

/** Whether an image created at `created` is old enough, and if not, why. */
export function tooYoung(created: string, rules: TagRules, now: number): string | null {
  if (!rules.minAge) return null;
  const age = now - Date.parse(created);
  if (age >= rules.minAge.ms) return null;
  return `created ${formatAge(age)} ago (${created}), younger than refit.min-age ${rules.minAge.text}`;
}

/** `3 d 4 h`, `5 h 2 min`, `40 s`: the largest unit and the next one, for reasons. */
export function formatAge(ms: number): string {
  const units: [string, number][] = [['d', 86_400_000], ['h', 3_600_000], ['min', 60_000], ['s', 1000]];
  const rest = Math.max(0, ms);
  const found = units.findIndex(([, size]) => rest >= size);
  const i = found < 0 ? units.length - 1 : found;
  const [name, size] = units[i]!;
  const first = `${Math.floor(rest / size)} ${name}`;
  const next = units[i + 1];
  const n = next ? Math.floor((rest % size) / next[1]) : 0;
  return n > 0 ? `${first} ${n} ${next![0]}` : first;
}

export function describePassedOver(passed: readonly PassedOver[]): string {
  if (!passed.length) return '';
  const shown = passed.slice(0, 5).map((p) => `${p.tag} (${p.reason})`);
  return `; passed over: ${shown.join(', ')}${passed.length > 5 ? ` and ${passed.length - 5} more` : ''}`;
}
