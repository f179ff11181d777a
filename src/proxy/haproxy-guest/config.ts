/**
 * @module proxy/haproxy-guest/config
 * Reads the operator's haproxy.cfg (pure, never written): its sections, and what a managed
 * backend must say so that refit can drive it (docs/proxy.md, "HAProxy (operator's config)").
 */
import { ok, problem, warning, type Finding } from '../doctor.js';
import { slotTemplate } from './slots.js';

export interface Section {
  kind: string;
  name: string;
  /** Its lines, trimmed, without comments and blank lines. */
  lines: string[];
}

const SECTION = /^(global|defaults|frontend|backend|listen|peers|resolvers|userlist|program|cache|mailers|ring|http-errors|fcgi-app)\b\s*(\S*)/;

export function parseSections(text: string): Section[] {
  const sections: Section[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/(^|\s)#.*$/, '').trimEnd();
    if (!line.trim()) continue;
    const head = /^\S/.test(line) ? SECTION.exec(line) : null;
    if (head) sections.push({ kind: head[1]!, name: head[2] ?? '', lines: [] });
    else sections.at(-1)?.lines.push(line.trim());
  }
  return sections;
}

export interface BackendNeeds {
  route: string;
  runDir: string;
  slotPrefix: string;
  /** Slot names the running HAProxy has in this backend. */
  slots: string[];
}

/** What the backend of a managed site lacks, as findings (problems stop refit from managing it). */
export function backendFindings(sections: Section[], n: BackendNeeds): Finding[] {
  const backend = sections.find((s) => (s.kind === 'backend' || s.kind === 'listen') && s.name === n.route);
  if (!backend) return [problem(`haproxy.cfg has no backend ${n.route}`, `add it (docs/proxy.md has one to copy) and reload HAProxy`)];
  const has = (re: RegExp) => backend.lines.some((l) => re.test(l));
  const findings: Finding[] = [];
  findings.push(n.slots.length >= 2 ? ok(`${n.slots.length} server slots (${n.slots[0]}…)`) : problem(`${n.slots.length} server slot(s) named ${n.slotPrefix}N`, slotTemplate(n.slotPrefix)));
  const stateFile = `${n.runDir}/server-state/${n.route}`;
  // HAProxy takes a server's address from the state file only for a server declared by name with init-addr last.
  const template = backend.lines.find((l) => l.startsWith(`server-template ${n.slotPrefix} `)) ?? '';
  const byName = /^server-template\s+\S+\s+\S+\s+(?![\d[])\S+/.test(template) && /\binit-addr\s+last\b/.test(template);
  if (has(/^load-server-state-from-file\s+local\b/) && has(new RegExp(`^server-state-file-name\\s+${escape(stateFile)}$`)) && byName) findings.push(ok("keeps refit's servers across your reloads (server state file)"));
  else {
    findings.push(
      problem(
        "your next reload or restart would take refit's servers out of this backend",
        `load-server-state-from-file local\n         server-state-file-name ${stateFile}\n         ${slotTemplate(n.slotPrefix)}   (a name with init-addr last: HAProxy restores only such addresses)`,
      ),
    );
  }
  const probe = has(new RegExp(`req\\.hdr\\(x-refit-probe\\)\\s+-m\\s+str\\s+-f\\s+${escape(`${n.runDir}/probe.token`)}`, 'i'));
  const pinned = n.slots.filter((slot) => !has(new RegExp(`^use-server\\s+${escape(slot)}\\s+if\\b.*x-refit-probe-server\\)\\s+-m\\s+str\\s+${escape(slot)}\\b`, 'i')));
  const answers = has(/^http-response\s+set-header\s+x-refit-server\s+%\[srv_name\]/i);
  if (probe && !pinned.length && answers) findings.push(ok("refit's probes are pinned to a server and told which one answered"));
  else {
    findings.push(
      problem(
        `refit cannot check the site through your listener (${[!probe && 'no probe ACL', pinned.length && `no use-server for ${pinned.join(', ')}`, !answers && 'no x-refit-server answer'].filter(Boolean).join('; ')})`,
        'copy the probe lines of the backend in docs/proxy.md',
      ),
    );
  }
  return findings;
}

/** Proxy-wide settings the operator's reloads and refit's drains depend on. */
export function globalFindings(sections: Section[], o: { masterSocket?: string | undefined }): Finding[] {
  const anywhere = (re: RegExp) => sections.some((s) => (s.kind === 'defaults' || s.kind === 'frontend' || s.kind === 'listen') && s.lines.some((l) => re.test(l)));
  return [
    anywhere(/^option\s+idle-close-on-response\b/)
      ? ok('option idle-close-on-response: your reloads do not drop requests of kept-alive clients')
      : warning('no `option idle-close-on-response`: every reload of yours closes idle kept-alive connections, and a client sending at that instant loses its request', 'add `option idle-close-on-response` to defaults'),
    o.masterSocket
      ? ok('master CLI configured: drains also count requests in workers your reloads left finishing')
      : warning('no proxy.haproxyGuest.masterSocket: after a reload of yours, a drain cannot see requests the previous worker still serves', 'run HAProxy with -S <socket> (master CLI) and set proxy.haproxyGuest.masterSocket'),
  ];
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
