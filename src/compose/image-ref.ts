/**
 * @module compose/image-ref
 * Reads and rewrites a service's `image:` in a compose file's text, changing nothing but the
 * bytes of that one value: comments, quoting style, flow or block layout, anchors and CRLF line
 * ends stay as the customer wrote them. The edit is a compare-and-swap: it changes the value only
 * while it holds what refit expects. Pure; compose/image-source.ts decides which file and value.
 */
import { isAlias, isMap, isScalar, isSeq, parseDocument, type Document, type Node, type Scalar } from 'yaml';
import { RefitError } from '../errors.js';

/** Characters refit writes into an image value: never needs quoting, never breaks flow style or comments. */
const REFERENCE = /^[a-z0-9$][a-z0-9._\-/:@${}]*$/i;

/** What a compose file says about one service's image. */
export interface ServiceImage {
  /** The service is defined in this file. */
  defined: boolean;
  /** The value as written (before interpolation), or null when this file does not set it. */
  value: string | null;
  /** Where the value starts in the text: services whose image is at the same place share it (anchors, merge keys). */
  at: number | null;
  /** Why refit cannot rewrite the value, when it is there but not a one-line string. */
  problem: string | null;
  /** The service's `extends` (`file` null: the same file). */
  extends: { service: string; file: string | null } | null;
}

export function readServiceImage(text: string, service: string, file: string): ServiceImage {
  const doc = parse(text, file);
  const map = serviceMap(doc, service);
  const none: ServiceImage = { defined: false, value: null, at: null, problem: null, extends: null };
  if (!isMap(map)) return none;
  const node = imageIn(doc, map, 0);
  const ext = deref(doc, map.get('extends', true) as Node | null);
  let extendsOf: ServiceImage['extends'] = null;
  if (isScalar(ext) && typeof ext.value === 'string') extendsOf = { service: ext.value, file: null };
  else if (isMap(ext)) {
    const svc = ext.get('service');
    const f = ext.get('file');
    if (typeof svc === 'string') extendsOf = { service: svc, file: typeof f === 'string' ? f : null };
  }
  if (!node) return { ...none, defined: true, extends: extendsOf };
  const where = `the image of service ${service} in ${file}`;
  const plain = isScalar(node) && typeof node.value === 'string' && node.range;
  const problem = !plain ? `${where} is not a plain string` : node.type === 'BLOCK_LITERAL' || node.type === 'BLOCK_FOLDED' ? `${where} is a block scalar` : null;
  return { defined: true, value: plain ? (node.value as string) : null, at: node.range?.[0] ?? null, problem, extends: extendsOf };
}

/** The services a compose file defines. */
export function serviceNames(text: string, file: string): string[] {
  const doc = parse(text, file);
  const services = deref(doc, doc.get('services', true) as Node | null);
  if (!isMap(services)) return [];
  return services.items.map((p) => (isScalar(p.key) ? String(p.key.value) : '')).filter(Boolean);
}

export interface ImageEdit {
  text: string;
  changed: boolean;
}

/**
 * Sets `services.<service>.image` in compose `text` from `change.from` to `change.to`, following
 * aliases and merge keys to the scalar that holds it. Unchanged text when it already holds
 * `to`; throws when this file does not set it or it holds anything else.
 */
export function setServiceImage(text: string, service: string, change: { from: string; to: string }, file = 'compose file'): ImageEdit {
  if (!REFERENCE.test(change.to)) throw new RefitError('internal', `${JSON.stringify(change.to)} is not an image value refit writes`);
  const doc = parse(text, file);
  const node = findImage(doc, service);
  const where = `the image of service ${service} in ${file}`;
  if (!node) throw new RefitError('compose', `${where} is no longer set there`, 'was the file edited during the update? refit left it alone');
  if (!isScalar(node) || typeof node.value !== 'string' || !node.range) throw new RefitError('compose', `${where} is not a plain string`, 'write it as `image: name:tag`');
  if (node.value === change.to) return { text, changed: false };
  if (node.value !== change.from) {
    throw new RefitError('compose', `${where} is ${JSON.stringify(node.value)}, not the ${JSON.stringify(change.from)} refit expected`, 'was the file edited during the update? refit left it alone');
  }
  const out = text.slice(0, node.range[0]) + render(node, change.to, where) + text.slice(node.range[1]);
  const check = findImage(parse(out, file), service);
  if (!isScalar(check) || check.value !== change.to) throw new RefitError('compose', `${where} cannot be rewritten to ${change.to} in its style`, 'write it as a quoted string: `image: "name:tag"`');
  return { text: out, changed: true };
}

function parse(text: string, file: string): Document {
  const doc = parseDocument(text);
  if (doc.errors.length) throw new RefitError('compose', `${file} is not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
  return doc;
}

function render(node: Scalar, image: string, where: string): string {
  switch (node.type) {
    case 'PLAIN':
      return image;
    case 'QUOTE_DOUBLE':
      return `"${image}"`;
    case 'QUOTE_SINGLE':
      return `'${image}'`;
    default:
      throw new RefitError('compose', `${where} is a block scalar`, 'write it on one line as `image: name:tag`');
  }
}

function serviceMap(doc: Document, service: string): Node | null {
  const services = deref(doc, doc.get('services', true) as Node | null);
  if (!isMap(services)) return null;
  return deref(doc, services.get(service, true) as Node | null);
}

function findImage(doc: Document, service: string): Node | null {
  return imageIn(doc, serviceMap(doc, service), 0);
}

/** `image` of a service map, or of the maps it merges (`<<`), first source first as YAML 1.1 merges. */
function imageIn(doc: Document, map: Node | null, depth: number): Node | null {
  if (!isMap(map) || depth > 10) return null;
  const own = map.items.find((p) => isScalar(p.key) && p.key.value === 'image');
  if (own) return deref(doc, own.value as Node | null);
  for (const p of map.items) {
    if (!(isScalar(p.key) && p.key.value === '<<')) continue;
    const sources = isSeq(p.value) ? p.value.items : [p.value];
    for (const s of sources) {
      const found = imageIn(doc, deref(doc, s as Node | null), depth + 1);
      if (found) return found;
    }
  }
  return null;
}

function deref(doc: Document, node: Node | null | undefined): Node | null {
  if (isAlias(node)) return (node.resolve(doc) as Node | undefined) ?? null;
  return node ?? null;
}
