/** Nice values as the kernel reports them: what tests check refit's work priority against. */
import { readdirSync, readFileSync } from 'node:fs';

/** The nice value in a /proc/PID/stat line (field 19; the command name in parentheses may hold spaces). */
export const niceOf = (stat: string): number => Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);

/** The nice value of every thread of `pid`. */
export function threadNices(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) => niceOf(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')));
}
