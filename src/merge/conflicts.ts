/**
 * @module merge/conflicts
 * Reads the conflict hunks out of `git merge-file` output (markers of a known size), to report
 * for each hunk the customer won what upstream wanted there instead. Pure.
 */

export interface OverriddenHunk {
  /** 1-based line in the merged file where the customer's side of the hunk starts. */
  line: number;
  /** The customer's text that was kept. */
  customer: string;
  /** The upstream text that was not applied. */
  upstream: string;
}

/**
 * Marker size longer than any run of marker characters at a line start in the inputs, so that
 * file content can never be mistaken for a marker.
 */
export function markerSizeFor(...texts: Buffer[]): number {
  let longest = 0;
  for (const text of texts) {
    for (const m of text.toString('latin1').matchAll(/^([<=>|])\1*/gm)) longest = Math.max(longest, m[0].length);
  }
  return Math.max(7, longest + 1);
}

/** The hunks of a merge-file output written with `--marker-size=size` (default conflict style). */
export function parseConflicts(output: Buffer, size: number): OverriddenHunk[] {
  const marker = (ch: string) => new RegExp(`^${ch.repeat(size)}(?: .*)?\\r?\\n?$`);
  const [open, middle, close] = [marker('<'), marker('='), marker('>')];
  const hunks: OverriddenHunk[] = [];
  let state: 'outside' | 'customer' | 'upstream' = 'outside';
  let line = 1;
  let current: OverriddenHunk | undefined;
  for (const text of splitLines(output.toString('utf8'))) {
    if (state === 'outside' && open.test(text)) {
      current = { line, customer: '', upstream: '' };
      state = 'customer';
    } else if (state === 'customer' && middle.test(text)) {
      state = 'upstream';
    } else if (state === 'upstream' && close.test(text)) {
      hunks.push(current!);
      state = 'outside';
    } else if (state === 'customer') {
      current!.customer += text;
      line++;
    } else if (state === 'upstream') {
      current!.upstream += text;
    } else {
      line++;
    }
  }
  return hunks;
}

/** Lines with their terminators kept, so CRLF and a missing final newline survive. */
function splitLines(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}
