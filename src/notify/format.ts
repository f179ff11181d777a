/**
 * @module notify/format
 * The bodies webhooks receive. Generic hooks get the event itself plus a one-line `text`;
 * Slack-compatible hooks (Slack, Mattermost, Rocket.Chat incoming webhooks) get `{ text, blocks }`
 * where `text` alone is a complete message for clients that ignore blocks. Pure.
 */
import { isProblem, type ContainerIncident, type ContainerOutcome, type ContainerResult, type HoldNotice, type NotifyEvent, type PassSummary, type WatchOutcome } from './types.js';

export type HookKind = 'json' | 'slack';

const ORDER: ContainerResult[] = ['reverted', 'rolled-back', 'failed', 'updated', 'skipped', 'current'];
// Slack's section text limit is 3000 characters; stay well under it.
const MAX_SECTION = 2800;
const MAX_LISTED = 25;

export function body(kind: HookKind, event: NotifyEvent): unknown {
  return kind === 'slack' ? slackBody(event) : jsonBody(event);
}

export function jsonBody(event: NotifyEvent): unknown {
  if (event.kind === 'hold') return { event: 'hold', text: holdLine(event.hold), ...event.hold };
  return event.kind === 'pass'
    ? { event: 'pass', text: passHeadline(event.summary), ...event.summary }
    : { event: 'incident', text: incidentLine(event.incident), ...event.incident };
}

export interface SlackMessage {
  text: string;
  blocks?: { type: string; text?: { type: 'mrkdwn'; text: string } }[];
}

export function slackBody(event: NotifyEvent): SlackMessage {
  if (event.kind === 'hold') return { text: holdLine(event.hold), blocks: [section(`*${holdLine(event.hold)}*\n${event.hold.at}`)] };
  if (event.kind === 'incident') {
    const i = event.incident;
    const text = incidentLine(i);
    const details = [
      `*${i.container}* on \`${i.host}\`: ${INCIDENT[i.result].slack}${i.step ? ` at step \`${i.step}\`` : ''}`,
      i.from || i.to ? `image: \`${i.from ?? '?'}\` → \`${i.to ?? '?'}\`` : null,
      `reason: ${i.reason}`,
      `run ${i.runId}, ${i.at}`,
    ].filter((l): l is string => l !== null);
    return { text, blocks: [section(details.join('\n'))] };
  }
  const s = event.summary;
  const listed = sortOutcomes(s.results.filter((r) => r.result !== 'current'));
  const lines = listed.slice(0, MAX_LISTED).map(outcomeLine);
  if (listed.length > MAX_LISTED) lines.push(`… and ${listed.length - MAX_LISTED} more (refit history --since ${s.startedAt})`);
  const blocks = [section(`*${passHeadline(s)}*\nrun ${s.runId}, ${s.startedAt} → ${s.finishedAt}`)];
  if (lines.length) blocks.push(section(lines.join('\n')));
  return { text: passHeadline(s), blocks };
}

/** e.g. `refit on web-3: 2 updated, 1 rolled back, 14 current` */
export function passHeadline(s: PassSummary): string {
  const counts = countResults(s.results);
  const parts = ORDER.filter((r) => counts[r] > 0).map((r) => `${counts[r]} ${r.replace('-', ' ')}`);
  const mark = s.results.some((r) => isProblem(r.result)) ? 'needs attention' : 'ok';
  return `refit on ${s.host}: ${parts.join(', ') || 'no managed containers'} (${mark})`;
}

const INCIDENT: Record<ContainerIncident['result'], { line: string; slack: string }> = {
  'rolled-back': { line: 'rolled back', slack: 'rolled back' },
  failed: { line: 'failed and needs an operator', slack: 'FAILED' },
  reverted: { line: 'reverted after its update', slack: 'REVERTED after its update' },
};

/** e.g. `kept: 1.2% 5xx over 1840 requests (0.9% before)` */
export function watchLine(w: WatchOutcome): string {
  const pct = (c: { requests: number; errors: number }) => `${c.requests ? ((100 * c.errors) / c.requests).toFixed(1) : '0.0'}%`;
  return `${w.decision}: ${pct(w)} 5xx over ${w.requests} requests${w.before ? ` (${pct(w.before)} before)` : ''}`;
}

export function incidentLine(i: ContainerIncident): string {
  const what = INCIDENT[i.result].line;
  return `refit on ${i.host}: ${i.container} ${what}${i.step ? ` at ${i.step}` : ''}: ${i.reason}`;
}

/** e.g. `refit fleet: reg.example/web@sha256:1a2b… held automatically (seen on web-3): failure rate 100% …` */
export function holdLine(h: HoldNotice): string {
  const image = h.digest ? `${h.repository}@${h.digest.slice(0, 19)}…` : `${h.repository} (every digest)`;
  return `refit fleet: ${image} held ${h.auto ? 'automatically' : `by ${h.by}`} (seen on ${h.host}): ${h.reason}`;
}

export function countResults(results: readonly ContainerOutcome[]): Record<ContainerResult, number> {
  const counts: Record<ContainerResult, number> = { updated: 0, reverted: 0, 'rolled-back': 0, failed: 0, skipped: 0, current: 0 };
  for (const r of results) counts[r.result]++;
  return counts;
}

function sortOutcomes(results: ContainerOutcome[]): ContainerOutcome[] {
  return [...results].sort((a, b) => ORDER.indexOf(a.result) - ORDER.indexOf(b.result) || a.container.localeCompare(b.container));
}

function outcomeLine(r: ContainerOutcome): string {
  const icon = { updated: '✅', reverted: '⏪', 'rolled-back': '↩️', failed: '❌', skipped: '⏭️', current: '' }[r.result];
  const images = r.from || r.to ? ` \`${r.from ?? '?'}\` → \`${r.to ?? '?'}\`` : '';
  const watched = r.watch && r.result === 'updated' ? ` (watched: ${watchLine(r.watch)})` : '';
  return `${icon} *${r.container}* ${r.result}${images}${r.reason ? `: ${r.reason}` : ''}${watched}`;
}

function section(text: string): { type: 'section'; text: { type: 'mrkdwn'; text: string } } {
  return { type: 'section', text: { type: 'mrkdwn', text: text.length > MAX_SECTION ? `${text.slice(0, MAX_SECTION)}…` : text } };
}
