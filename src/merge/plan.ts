/**
 * @module merge/plan
 * The merge decision of SPEC.md steps 3-4, per path, as a pure function of the three trees.
 *
 * | customer vs base | latest vs base | result                                      |
 * | identical        | identical      | unchanged                                   |
 * | identical        | different      | take latest (added / deleted / took-latest) |
 * | different        | identical      | keep customer (kept-customer / kept-deleted)|
 * | different        | different      | same change: keep it; text: 3-way merge;    |
 * |                  |                | otherwise the customer's side wins          |
 *
 * Absent counts as different from present. At directory level: a directory the customer
 * deleted stays deleted with everything in it; one upstream deleted goes unless the customer
 * changed something inside; where a path changes kind (file <-> directory), the whole subtree
 * is one entry. Modes follow the same table; owners follow the customer's tree. Entries the
 * customer's reader refused are left alone and reported; refused image entries count as absent.
 */
import { createHash } from 'node:crypto';
import { isBinary, isWithin, parentOf, type NodeKind, type Owner, type Tree, type TreeNode } from './tree.js';

export type Outcome = 'unchanged' | 'took-latest' | 'kept-customer' | 'merged' | 'conflict' | 'added' | 'deleted' | 'kept-deleted' | 'refused';

export interface PlanItem {
  path: string;
  /** The kind written, or the kind that was there when nothing is written. */
  kind: NodeKind;
  outcome: Outcome;
  /** What goes into the output at this path; null when nothing does. */
  write: TreeNode | null;
  note?: string;
  /** Set when both sides changed a text file: apply merges these and decides merged or conflict. */
  textMerge?: { base: Buffer; customer: Buffer; latest: Buffer };
  /** For a conflict the customer's whole entry won: what upstream had instead. */
  upstream?: string;
  /** And what the customer had, described the same way. */
  customer?: string;
}

export interface PlanInput {
  base: Tree;
  latest: Tree;
  customer: Tree;
  maxTextMergeBytes: number;
}

type Node = TreeNode | undefined;
type Chosen = 'customer' | 'latest';

/** Orders paths depth-first: a directory, then everything in it, then its next sibling. */
export function comparePaths(a: string, b: string): number {
  const x = a.replaceAll('/', '\0');
  const y = b.replaceAll('/', '\0');
  return x < y ? -1 : x > y ? 1 : 0;
}

export function sameContent(a: Node, b: Node): boolean {
  if (!a || !b) return a === b;
  if (a.kind !== b.kind) return false;
  if (a.kind === 'file') return a.data.equals((b as typeof a).data);
  if (a.kind === 'symlink') return a.target === (b as typeof a).target;
  return true;
}

export function planMerge(input: PlanInput): PlanItem[] {
  return new Planner(input).run();
}

class Planner {
  private readonly paths: string[];
  private readonly customerRefused: Map<string, string>;
  private readonly items: PlanItem[] = [];

  constructor(private readonly input: PlanInput) {
    const all = new Set<string>();
    for (const t of [input.base, input.latest, input.customer]) for (const p of t.nodes.keys()) all.add(p);
    this.customerRefused = new Map(input.customer.refused.map((r) => [r.path, r.reason]));
    for (const p of this.customerRefused.keys()) all.add(p);
    this.paths = [...all].sort(comparePaths);
  }

  run(): PlanItem[] {
    for (let i = 0; i < this.paths.length; ) i = this.decide(i);
    return this.items;
  }

  /** Decides the path at index i; returns the index of the next path still to decide. */
  private decide(i: number): number {
    const path = this.paths[i]!;
    const refusal = this.refusalOf(path);
    const [b, c, l] = this.nodes(path);
    if (refusal) {
      this.items.push({ path, kind: c?.kind ?? l?.kind ?? b?.kind ?? 'file', outcome: 'refused', write: null, note: refusal });
      return i + 1;
    }
    const kinds = [b, c, l].filter((n): n is TreeNode => n !== undefined).map((n) => n.kind);
    if (kinds.every((k) => k === 'dir')) return this.directory(i, b, c, l);
    if (kinds.includes('dir')) return this.kindChange(i, b, c, l);
    this.entry(path, b, c, l);
    return i + 1;
  }

  /** Files and links: the table, row by row. */
  private entry(path: string, b: Node, c: Node, l: Node): PlanItem {
    const customerChanged = !sameContent(c, b);
    const latestChanged = !sameContent(l, b);
    if (!customerChanged && !latestChanged) return this.push(path, this.modeOutcome(b, c, l, 'unchanged'), c!, { b, c, l });
    if (!customerChanged) return this.push(path, !l ? 'deleted' : !b ? 'added' : 'took-latest', l ?? b!, { b, c, l });
    if (!latestChanged) return this.push(path, !c ? 'kept-deleted' : 'kept-customer', c ?? b!, { b, c, l });
    if (sameContent(c, l)) {
      if (!c) return this.push(path, 'deleted', b!, { b, c, l }, 'deleted on both sides');
      return this.push(path, 'merged', c, { b, c, l }, b ? 'you and upstream made the same change' : 'you and upstream added the same content');
    }
    if (!c) return this.push(path, 'kept-deleted', b!, { b, c, l }, 'upstream changed this entry, but you deleted it: it stays deleted; the upstream version was not applied');
    if (!l) return this.push(path, 'kept-customer', c, { b, c, l }, 'upstream deleted this entry, but you changed it: your version was kept');
    const max = this.input.maxTextMergeBytes;
    const textual = (n: Node) => n?.kind === 'file' && !isBinary(n.data, max);
    if (textual(c) && textual(l) && (!b || b.kind !== 'file' || textual(b))) {
      const item = this.push(path, 'merged', c, { b, c, l });
      item.textMerge = { base: b?.kind === 'file' ? b.data : Buffer.alloc(0), customer: (c as { data: Buffer }).data, latest: (l as { data: Buffer }).data };
      return item;
    }
    const item = this.push(path, 'conflict', c, { b, c, l }, 'you and upstream both changed this entry and it cannot be merged line by line: your version was kept');
    item.upstream = describe(l, max);
    item.customer = describe(c, max);
    return item;
  }

  /** Every side has a directory here, or nothing. */
  private directory(i: number, b: Node, c: Node, l: Node): number {
    const path = this.paths[i]!;
    const end = this.subtreeEnd(i);
    if (b && !c) {
      // The customer deleted the directory: it stays deleted, whatever upstream did inside.
      const upstreamTouched = l && !this.subtreeSame('latest', 'base', i, end);
      const outcome = l ? 'kept-deleted' : 'deleted';
      this.push(path, outcome, b, { b, c, l }, upstreamTouched ? 'upstream changed things in this directory, but you deleted it: it stays deleted' : undefined);
      this.wholeSubtree(i + 1, end, (n) => ({ outcome: !n.b && n.l ? 'kept-deleted' : outcome, node: n.b ?? n.l!, note: !n.b && n.l ? 'added upstream inside a directory you deleted: not applied' : undefined }));
      return end;
    }
    if (b && !l && this.subtreeSame('customer', 'base', i, end)) {
      this.push(path, 'deleted', b, { b, c, l });
      this.wholeSubtree(i + 1, end, (n) => ({ outcome: 'deleted', node: n.b ?? n.c! }));
      return end;
    }
    if (b && !l) this.push(path, 'kept-customer', c!, { b, c, l }, 'upstream deleted this directory, but you changed things in it: your changes were kept');
    else if (!b) this.push(path, c && l ? 'merged' : c ? 'kept-customer' : 'added', c ?? l!, { b, c, l }, c && l ? 'you and upstream both added this directory' : undefined);
    else this.push(path, this.modeOutcome(b, c, l, 'unchanged'), c!, { b, c, l });
    return i + 1;
  }

  /** A file or link on one side, a directory on another: the subtree is decided as one entry. */
  private kindChange(i: number, b: Node, c: Node, l: Node): number {
    const end = this.subtreeEnd(i);
    const customerChanged = !this.subtreeSame('customer', 'base', i, end);
    const latestChanged = !this.subtreeSame('latest', 'base', i, end);
    const chosen: Chosen = customerChanged ? 'customer' : 'latest';
    const top = (n: { b: Node; c: Node; l: Node }) => (chosen === 'customer' ? n.c : n.l);
    const rootNote =
      customerChanged && latestChanged
        ? this.subtreeSame('customer', 'latest', i, end)
          ? 'you and upstream made the same change'
          : 'you and upstream both changed this entry and its kind differs: your version was kept'
        : undefined;
    for (let k = i; k < end; k++) {
      const q = this.paths[k]!;
      const refusal = this.refusalOf(q);
      const [qb, qc, ql] = this.nodes(q);
      if (refusal) {
        this.items.push({ path: q, kind: qc?.kind ?? ql?.kind ?? qb?.kind ?? 'file', outcome: 'refused', write: null, note: refusal });
        continue;
      }
      const mine = top({ b: qb, c: qc, l: ql });
      const outcome = outcomeOfChoice(chosen, qb, mine, chosen === 'customer' ? ql : qc);
      if (!outcome) continue;
      const conflict = k === i && customerChanged && latestChanged && !this.subtreeSame('customer', 'latest', i, end);
      const item = this.push(q, conflict ? (c ? 'conflict' : 'kept-deleted') : outcome, mine ?? qb ?? qc ?? ql!, { b: qb, c: qc, l: ql }, k === i ? rootNote : undefined);
      if (conflict) {
        item.upstream = describe(l, this.input.maxTextMergeBytes);
        item.customer = describe(c, this.input.maxTextMergeBytes);
      }
    }
    return end;
  }

  /** Items for paths (i..end) decided wholesale; nothing is written for them. */
  private wholeSubtree(i: number, end: number, decide: (n: { b: Node; c: Node; l: Node }) => { outcome: Outcome; node: TreeNode; note?: string | undefined }): void {
    for (let k = i; k < end; k++) {
      const q = this.paths[k]!;
      const [b, c, l] = this.nodes(q);
      if (!b && !c && !l) continue;
      const d = decide({ b, c, l });
      this.items.push({ path: q, kind: d.node.kind, outcome: d.outcome, write: null, ...(d.note ? { note: d.note } : {}) });
    }
  }

  /**
   * Adds an item. `shown` is the node the item is about; it is written (with the resolved mode
   * and the customer's owner) unless the outcome leaves the path empty.
   */
  private push(path: string, outcome: Outcome, shown: TreeNode, n: { b: Node; c: Node; l: Node }, note?: string): PlanItem {
    const empty = outcome === 'deleted' || outcome === 'kept-deleted';
    const write = empty ? null : this.resolve(path, shown, n);
    const item: PlanItem = { path, kind: shown.kind, outcome, write, ...(note ? { note } : {}) };
    this.items.push(item);
    return item;
  }

  /** The node as written: mode by the table (a customer's change wins), owner from the customer's tree. */
  private resolve(path: string, node: TreeNode, { b, c, l }: { b: Node; c: Node; l: Node }): TreeNode {
    const owner = this.ownerFor(path);
    if (node.kind === 'symlink') return { ...node, ...owner };
    const modeOf = (n: Node) => (n && n.kind === node.kind && 'mode' in n ? n.mode : undefined);
    const [bm, cm, lm] = [modeOf(b), modeOf(c), modeOf(l)];
    const mode = cm !== undefined && cm !== bm ? cm : (lm ?? cm ?? node.mode);
    return { ...node, mode, ...owner };
  }

  /** When content is unchanged on both sides, a mode change alone decides the outcome. */
  private modeOutcome(b: Node, c: Node, l: Node, otherwise: Outcome): Outcome {
    const modeOf = (n: Node) => (n && n.kind !== 'symlink' ? n.mode : undefined);
    if (modeOf(c) !== modeOf(b)) return 'kept-customer';
    if (modeOf(l) !== modeOf(b)) return 'took-latest';
    return otherwise;
  }

  private ownerFor(path: string): Owner {
    for (let p = path; p !== ''; p = parentOf(p)) {
      const n = this.input.customer.nodes.get(p);
      if (n) return { uid: n.uid, gid: n.gid };
    }
    return { uid: this.input.customer.root.uid, gid: this.input.customer.root.gid };
  }

  private nodes(path: string): [Node, Node, Node] {
    return [this.input.base.nodes.get(path), this.input.customer.nodes.get(path), this.input.latest.nodes.get(path)];
  }

  private refusalOf(path: string): string | undefined {
    for (let p = path; p !== ''; p = parentOf(p)) {
      const why = this.customerRefused.get(p);
      if (why !== undefined) return p === path ? `in your dir, this ${why}; refit left it alone` : `inside ${p}, which refit left alone (${why})`;
    }
    return undefined;
  }

  /** Index just past the last path inside paths[i]. */
  private subtreeEnd(i: number): number {
    const root = this.paths[i]!;
    let k = i + 1;
    while (k < this.paths.length && isWithin(this.paths[k]!, root)) k++;
    return k;
  }

  private subtreeSame(x: 'customer' | 'latest', y: 'base' | 'latest', i: number, end: number): boolean {
    for (let k = i; k < end; k++) {
      const p = this.paths[k]!;
      if (!sameContent(this.input[x].nodes.get(p), this.input[y].nodes.get(p))) return false;
    }
    return true;
  }
}

/** The outcome of taking `mine` (the chosen side's node) where base had `base` and the other side `other`; null if no side has it. */
function outcomeOfChoice(chosen: Chosen, base: Node, mine: Node, other: Node): Outcome | null {
  if (!mine) return base || other ? (chosen === 'customer' ? 'kept-deleted' : 'deleted') : null;
  if (!base) return chosen === 'customer' ? 'kept-customer' : 'added';
  if (sameContent(base, mine)) return 'unchanged';
  return chosen === 'customer' ? 'kept-customer' : 'took-latest';
}

/** One line about an entry, for reports: the text itself when it is short text. */
export function describe(node: Node, maxTextBytes: number): string {
  if (!node) return '(absent)';
  if (node.kind === 'dir') return 'a directory';
  if (node.kind === 'symlink') return `a symlink to ${JSON.stringify(node.target)}`;
  const digest = createHash('sha256').update(node.data).digest('hex').slice(0, 16);
  if (isBinary(node.data, maxTextBytes)) return `a binary file of ${node.data.length} bytes (sha256 ${digest}…)`;
  if (node.data.length > 64 * 1024) return `a text file of ${node.data.length} bytes (sha256 ${digest}…)`;
  return node.data.toString('utf8');
}
