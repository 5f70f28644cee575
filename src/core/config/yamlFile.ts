/**
 * One config file (YAML, or JSON which YAML 1.2 reads too) parsed into plain values plus the
 * position of every key and value, so that any later problem can point into the file.
 */
import { LineCounter, parseDocument, isMap, isSeq, isScalar, isPair, isAlias, visit, type Node, type Document, type Alias, type YAMLMap, type YAMLSeq } from 'yaml';
import type { Location, Problem, Range } from '../problems';
import { fastParse } from '../language/fastParse';
import { TextIndex } from '../language/textIndex';
import { setKey } from './merge';
import { describeValue, quoted } from '../format';
import { MAX_NESTING, nestingBeyond } from './nesting';

/** Where a value of a config came from: its key and value in a file, or a command-line option. */
export interface Origin {
  file: string;
  /** Range of the key (`depth` in `depth: 18`); absent for list items and the root. */
  key?: Range;
  /** Range of the value. */
  value: Range;
  /** The command-line option, for overrides. */
  arg?: string;
}

export type Origins = Map<string, Origin>;

export interface ParsedFile {
  file: string;
  value: unknown;
  origins: Origins;
  problems: Problem[];
  /** The parsed document and its line counter, for editors that walk the syntax tree. */
  document: Document.Parsed;
  lineCounter: LineCounter;
}

export function joinPath(parent: string, key: string | number): string {
  return parent === '' ? String(key) : `${parent}.${key}`;
}

export function offsetRange(lc: LineCounter, start: number, end: number): Range {
  const a = lc.linePos(start);
  const b = lc.linePos(end);
  return { start: { line: a.line - 1, character: a.col - 1 }, end: { line: b.line - 1, character: b.col - 1 } };
}

function nodeRange(lc: LineCounter, node: Node | null | undefined, fallback: number): Range {
  if (node && node.range) return offsetRange(lc, node.range[0], node.range[1]);
  return offsetRange(lc, fallback, fallback);
}

/** Parse `text` (the content of `file`) into values and origins; syntax errors become problems. */
export function parseConfigText(file: string, text: string): ParsedFile {
  // Checked before any reader runs: each of them recurses per level (see nesting.ts).
  const deep = nestingBeyond(text);
  if (deep !== undefined) return unread(file, text, deep, 'too-large', `nested more than ${MAX_NESTING} levels deep (mappings and lists inside each other); a config needs a few levels`);
  // Bytes that are not UTF-8 decode to U+FFFD: "café" saved as Latin-1 would become "caf\uFFFD" unseen.
  const replaced = text.indexOf('\uFFFD');
  if (replaced >= 0) return unread(file, text, replaced, 'file-unreadable', 'not UTF-8 text: a byte here is not valid UTF-8 (save the file as UTF-8)');
  const comment = file.endsWith('.json') ? jsonCommentAt(text) : undefined;
  if (comment !== undefined) return unread(file, text, comment, 'yaml-syntax', 'JSON has no comments; remove it, or write the config as .yaml, where # starts a comment');
  // Plain YAML (nearly every config) has a reader ten times faster with the very same values and
  // positions; anything it does not model exactly, errors included, is read by `yaml` below.
  return fastParse(file, text) ?? parseConfigTextWithYaml(file, text);
}

/** `parseConfigText` by the `yaml` package alone (the reference the fast path is tested against). */
export function parseConfigTextWithYaml(file: string, text: string): ParsedFile {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, ...YAML_OPTIONS });
  const problems: Problem[] = [];
  for (const err of withDuplicateKeys(document, lineCounter)) {
    const [start, end] = err.pos;
    problems.push({
      severity: 'error',
      code: 'yaml-syntax',
      message: `invalid YAML: ${firstLine(err.message)}`,
      file,
      range: offsetRange(lineCounter, start, Math.max(end, start + 1)),
      path: '',
    });
  }
  const origins: Origins = new Map();
  let value: unknown = {};
  if (problems.length === 0) {
    const root = document.contents as Node | null;
    const ctx: ValueContext = { file, lc: lineCounter, origins, document, problems, aliases: 0, overBudget: false, expanding: 0, open: new Set() };
    value = root ? toValue(root, '', ctx) : {};
    if (value === null || value === undefined) value = {};
    origins.set('', { file, value: nodeRange(lineCounter, root, 0) });
  }
  return { file, value, origins, problems, document, lineCounter };
}

/** Options of every `yaml` parse of a config. Unique keys are checked by `withDuplicateKeys`. */
const YAML_OPTIONS = { prettyErrors: false, uniqueKeys: false, merge: false } as const;

/**
 * The document's errors and its duplicate keys, in the order of the text, with `yaml`'s message
 * at `yaml`'s place. Its own check compares each key with every earlier one of the mapping:
 * one line repeating a key 26,000 times took seconds; a set of the keys seen takes milliseconds.
 */
function withDuplicateKeys(document: Document.Parsed, lineCounter: LineCounter): Array<{ pos: [number, number]; message: string }> {
  const duplicates: Array<{ pos: [number, number]; message: string }> = [];
  visit(document, {
    Map(_, map) {
      const seen = new Map<unknown, number>();
      for (const pair of map.items) {
        if (!isScalar(pair.key)) continue;
        const value = pair.key.value;
        const at = pair.key.range?.[0] ?? 0;
        const first = seen.get(value);
        if (first !== undefined) {
          const where = lineCounter.linePos(first);
          duplicates.push({ pos: [at, at + 1], message: `key ${typeof value === 'string' ? quoted(value) : describeValue(value)} appears twice in this mapping (first at line ${where.line}, column ${where.col}); keep one` });
        } else seen.set(value, at);
      }
    },
  });
  if (!duplicates.length) return document.errors;
  const out: Array<{ pos: [number, number]; message: string }> = [];
  let d = 0;
  for (const err of document.errors) {
    while (d < duplicates.length && duplicates[d].pos[0] < err.pos[0]) out.push(duplicates[d++]);
    out.push(err);
  }
  return out.concat(duplicates.slice(d));
}

/** A file no reader may see (too deep, not UTF-8, JSON with comments): one problem at `offset`, nothing read. */
function unread(file: string, text: string, offset: number, code: Problem['code'], message: string): ParsedFile {
  const problem: Problem = { severity: 'error', code, message, file, range: new TextIndex(text).range(offset, Math.min(offset + 1, text.length)), path: '' };
  const lineCounter = new LineCounter();
  return { file, value: {}, origins: new Map([['', { file, value: problem.range }]]), problems: [problem], document: parseDocument('', { lineCounter }), lineCounter };
}

/** Offset of the first `//` or `/*` outside a JSON string, or undefined. */
function jsonCommentAt(text: string): number | undefined {
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '/' && (text[i + 1] === '/' || text[i + 1] === '*')) return i;
  }
  return undefined;
}

function firstLine(msg: string): string {
  const line = msg.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
  // The parser's advice to its caller is not the user's to follow.
  return line.startsWith('Source contains multiple documents') ? 'a second document (after `---`): a config file holds one' : line;
}

/**
 * Most values one file may read through aliases. Counting aliases is not enough: 3,000 aliases of
 * a 3,000-item list (21 KB of text) are nine million values, and `&a [*b, *b, ...]` chains grow
 * exponentially (billion laughs).
 */
const MAX_ALIAS_EXPANSIONS = 10_000;

interface ValueContext {
  file: string;
  lc: LineCounter;
  origins: Origins;
  document: Document.Parsed;
  problems: Problem[];
  /** Values read through aliases so far, and whether passing the budget was said. */
  aliases: number;
  overBudget: boolean;
  /** Aliases being expanded around the current node. */
  expanding: number;
  /** The mappings and lists being read around the current node: an alias to one would contain itself. */
  open: Set<Node>;
}

function aliasProblem(ctx: ValueContext, node: Node, path: string, problem: string): null {
  ctx.problems.push({ severity: 'error', code: 'yaml-syntax', message: `invalid YAML: ${problem}`, file: ctx.file, range: nodeRange(ctx.lc, node, 0), path });
  return null;
}

/** An alias reads as its anchor's value (the values inside it keep the anchor's positions), within the budget above. */
function aliasValue(node: Alias, path: string, ctx: ValueContext): unknown {
  const target = node.resolve(ctx.document) as Node | undefined;
  if (!target) return aliasProblem(ctx, node, path, `alias *${node.source} names no anchor (&${node.source}) before it`);
  if (ctx.open.has(target)) return aliasProblem(ctx, node, path, `alias *${node.source} is inside its own anchor &${node.source}: a value cannot contain itself`);
  if (ctx.aliases > MAX_ALIAS_EXPANSIONS) return null;
  ctx.expanding++;
  const value = toValue(target, path, ctx);
  ctx.expanding--;
  // Said once, at the (innermost) alias whose expansion passed the budget.
  if (ctx.aliases <= MAX_ALIAS_EXPANSIONS) return value;
  if (ctx.overBudget) return null;
  ctx.overBudget = true;
  return aliasProblem(ctx, node, path, `aliases expand to more than ${MAX_ALIAS_EXPANSIONS} values; a config needs a few`);
}

function toValue(node: Node, path: string, ctx: ValueContext): unknown {
  if (isAlias(node)) return aliasValue(node, path, ctx);
  if (ctx.expanding > 0) ctx.aliases++;
  // Past the budget nothing more is read: the expansions under way end at once.
  if (ctx.aliases > MAX_ALIAS_EXPANSIONS) return null;
  if (!isMap(node) && !isSeq(node)) return isScalar(node) ? node.value : ((node as { toJSON?: () => unknown }).toJSON?.() ?? null);
  ctx.open.add(node);
  try {
    return collectionValue(node, path, ctx);
  } finally {
    ctx.open.delete(node);
  }
}

function collectionValue(node: YAMLMap | YAMLSeq, path: string, ctx: ValueContext): unknown {
  const { file, lc, origins } = ctx;
  if (isMap(node)) {
    const out: Record<string, unknown> = {};
    for (const pair of node.items) {
      if (!isPair(pair)) continue;
      const keyNode = pair.key as Node | null;
      const key = isScalar(keyNode) ? String(keyNode.value) : String(keyNode);
      const childPath = joinPath(path, key);
      const valueNode = pair.value as Node | null;
      const keyRange = nodeRange(lc, keyNode, node.range?.[0] ?? 0);
      const keyEnd = keyNode?.range?.[1] ?? node.range?.[0] ?? 0;
      setKey(out, key, valueNode ? toValue(valueNode, childPath, ctx) : null);
      origins.set(childPath, { file, key: keyRange, value: valueNode ? nodeRange(lc, valueNode, keyEnd) : keyRange });
    }
    return out;
  }
  if (isSeq(node)) {
    return node.items.map((item, i) => {
      const childPath = joinPath(path, i);
      const n = item as Node | null;
      origins.set(childPath, { file, value: nodeRange(lc, n, node.range?.[0] ?? 0) });
      return n ? toValue(n, childPath, ctx) : null;
    });
  }
  return null;
}

/** The location of a path: the key when `preferKey`, else the value; walks up to the nearest known path. */
export function locate(origins: Origins, path: string, preferKey = false): { origin: Origin; location: Location } | undefined {
  let p = path;
  for (;;) {
    const o = origins.get(p);
    if (o) return { origin: o, location: { file: o.file, range: preferKey && o.key ? o.key : o.value } };
    if (p === '') return undefined;
    const dot = p.lastIndexOf('.');
    p = dot < 0 ? '' : p.slice(0, dot);
  }
}
