/**
 * @module proxy/doctor
 * What `refit proxy doctor` reports about the operator's proxy (guest modes): findings for the
 * proxy as a whole and for each managed site, whether refit can manage it and what is missing.
 * Pure: the rendering and the exit code (0 nothing wrong, 1 problems found) live here; each
 * guest mode's driver does the reading.
 */
import type { ProxyKind } from './types.js';

/** problem: refit cannot manage it (or would drop requests) until it is fixed; warning: works, with a cost worth knowing. */
export interface Finding {
  level: 'ok' | 'warning' | 'problem';
  what: string;
  /** What to add or change in the operator's config. */
  fix?: string;
}

export interface SiteDoctor {
  id: string;
  /** The name of the operator's route (backend, upstream, snippet) for the site. */
  route: string;
  manageable: boolean;
  findings: Finding[];
}

export interface DoctorReport {
  proxy: ProxyKind;
  /** refit's own files made so the operator's config can refer to them (never the operator's). */
  prepared: string[];
  findings: Finding[];
  sites: SiteDoctor[];
  /** Sites refit found but cannot name a route for (skipped by proxy sync), with the reason. */
  skipped: { container: string; reason: string }[];
}

export const ok = (what: string): Finding => ({ level: 'ok', what });
export const warning = (what: string, fix?: string): Finding => ({ level: 'warning', what, ...(fix ? { fix } : {}) });
export const problem = (what: string, fix?: string): Finding => ({ level: 'problem', what, ...(fix ? { fix } : {}) });

export function siteDoctor(id: string, route: string, findings: Finding[]): SiteDoctor {
  return { id, route, manageable: !findings.some((f) => f.level === 'problem'), findings };
}

export function doctorExitCode(r: DoctorReport): 0 | 1 {
  return r.findings.some((f) => f.level === 'problem') || r.sites.some((s) => !s.manageable) ? 1 : 0;
}

const MARK = { ok: 'ok     ', warning: 'warning', problem: 'PROBLEM' } as const;

export function renderDoctor(r: DoctorReport): string[] {
  const line = (f: Finding, indent: string) => [`${indent}${MARK[f.level]}  ${f.what}`, ...(f.fix ? [`${indent}         fix: ${f.fix}`] : [])];
  const lines = [`refit proxy doctor: ${r.proxy}`];
  for (const p of r.prepared) lines.push(`  prepared refit's own file ${p}`);
  lines.push(...r.findings.flatMap((f) => line(f, '  ')));
  for (const s of r.sites) {
    lines.push(`site ${s.id} (route ${s.route}): ${s.manageable ? 'refit can manage it' : 'refit cannot manage it yet'}`);
    lines.push(...s.findings.flatMap((f) => line(f, '  ')));
  }
  if (r.skipped.length) lines.push('not routed:', ...r.skipped.map((s) => `  ${s.container}: ${s.reason}`));
  const problems = r.findings.filter((f) => f.level === 'problem').length + r.sites.filter((s) => !s.manageable).length;
  lines.push(problems ? `${problems} problem(s): fix them, reload the proxy, and run refit proxy doctor again` : 'no problems found');
  return lines;
}
