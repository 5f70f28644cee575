/**
 * What the cursor is on: a key being typed (and in which mapping), or the value of a key or list
 * item, with the key path from the root. Works on half-typed documents: tokens the forgiving
 * reader found are used first; on a blank line, indentation decides which mapping the next key
 * would belong to, exactly as YAML itself would once the key is typed.
 */
import type { TextIndex } from './textIndex';
import type { MapNode, PairNode, PathSegment, ScalarNode, SeqNode, YamlNode } from './yamlScan';

export interface KeyContext {
  kind: 'key';
  /** Path of the mapping the key belongs to. */
  path: PathSegment[];
  /** That mapping, when it exists already (a new, empty mapping has none). */
  container?: MapNode;
  /** The pair whose key the cursor is on (a key being typed, or an existing key). */
  pair?: PairNode;
  /** What was typed so far, up to the cursor. */
  prefix: string;
  /** Offsets of the text a completion replaces (the whole word under the cursor). */
  replaceStart: number;
  replaceEnd: number;
  /** True inside `{...}`: insertions stay on one line. */
  flow: boolean;
  /** True when the key is quoted (JSON): the range lies inside the quotes. */
  quoted: boolean;
}

export interface ValueContext {
  kind: 'value';
  /** Path of the value: its mapping's path plus the key, or its list's path plus the index. */
  path: PathSegment[];
  /** The pair or the sequence item holding the value. */
  pair?: PairNode;
  /** For list items: the list. */
  seq?: SeqNode;
  /** The scalar under the cursor, if any was typed. */
  node?: ScalarNode;
  prefix: string;
  replaceStart: number;
  replaceEnd: number;
  flow: boolean;
  quoted: boolean;
}

export type CursorContext = KeyContext | ValueContext;

/** The context at `offset` in `text` (whose tree is `root`), or undefined where nothing fits. */
export function cursorContext(root: YamlNode, index: TextIndex, offset: number): CursorContext | undefined {
  const finder = new Finder(index, offset);
  return finder.inNode(root, []) ?? finder.byIndentation(root);
}

/** The key or scalar value under `offset`, not counting gaps (for hover and go to definition). */
export function tokenAt(root: YamlNode, index: TextIndex, offset: number): CursorContext | undefined {
  const ctx = new Finder(index, offset).inNode(root, []);
  if (!ctx) return undefined;
  if (ctx.kind === 'key') return ctx.pair && ctx.pair.key !== '' ? ctx : undefined;
  return ctx.node ? ctx : undefined;
}

class Finder {
  private readonly text: string;

  constructor(
    private readonly index: TextIndex,
    private readonly offset: number,
  ) {
    this.text = index.text;
  }

  private lineOf(offset: number): number {
    return this.index.positionAt(offset).line;
  }

  inNode(node: YamlNode, path: PathSegment[]): CursorContext | undefined {
    if (node.kind === 'map') return this.inMap(node, path);
    if (node.kind === 'seq') return this.inSeq(node, path);
    return undefined;
  }

  private inMap(map: MapNode, path: PathSegment[]): CursorContext | undefined {
    const o = this.offset;
    for (const pair of map.pairs) {
      if (o >= pair.keyStart && o <= pair.keyEnd && (pair.colon === undefined || o <= pair.colon)) {
        const q = pair.keyQuote ? 1 : 0;
        const start = pair.keyStart + q;
        const end = Math.max(start, pair.keyEnd - (q && this.text[pair.keyEnd - 1] === pair.keyQuote && pair.keyEnd - 1 > pair.keyStart ? 1 : 0));
        if (q && o < start) continue;
        return { kind: 'key', path, container: map, pair, prefix: this.text.slice(start, Math.min(o, end)), replaceStart: start, replaceEnd: end, flow: map.flow, quoted: !!pair.keyQuote };
      }
      if (pair.colon !== undefined && o > pair.colon) {
        const childPath = [...path, pair.key];
        const v = pair.value;
        if (v && this.reaches(v)) {
          if (v.kind === 'scalar') return this.scalarValue(v, childPath, { pair });
          const inner = this.inNode(v, childPath);
          if (inner) return inner;
        } else if ((!v || v.start > o) && this.blankBetween(pair.colon + 1, o)) {
          return this.emptyValue(childPath, { pair }, map.flow);
        }
      }
    }
    if (map.flow && o > map.start && this.reaches(map)) {
      return { kind: 'key', path, container: map, prefix: '', replaceStart: o, replaceEnd: o, flow: true, quoted: false };
    }
    return undefined;
  }

  private inSeq(seq: SeqNode, path: PathSegment[]): CursorContext | undefined {
    const o = this.offset;
    for (let i = 0; i < seq.items.length; i++) {
      const item = seq.items[i];
      const v = item.value;
      const childPath = [...path, i];
      if (v && this.reaches(v)) {
        if (v.kind === 'scalar') return this.scalarValue(v, childPath, { seq });
        const inner = this.inNode(v, childPath);
        if (inner) return inner;
        if (v.kind === 'map' && !v.flow) return undefined;
      } else if (!v && item.dash !== undefined && o > item.dash && this.blankBetween(item.dash + 1, o)) {
        return this.emptyValue(childPath, { seq }, false);
      }
    }
    if (seq.flow && o > seq.start && this.reaches(seq)) {
      const index = seq.items.filter((it) => it.end <= o).length;
      return this.emptyValue([...path, index], { seq }, true);
    }
    return undefined;
  }

  /**
   * Whether the cursor is within a value: a scalar up to its last character, a closed flow
   * collection up to its closing bracket, anything still open (a block collection, an unclosed
   * flow) up to the end of the line where it ends, so that `type: ` at a block's last line counts.
   */
  private reaches(v: YamlNode): boolean {
    const o = this.offset;
    if (o < v.start) return false;
    if (v.kind === 'scalar') return o <= v.end;
    if (v.flow && v.closed) return o < v.end;
    return o <= this.index.lineEnd(this.lineOf(v.end));
  }

  private scalarValue(v: ScalarNode, path: PathSegment[], holder: { pair?: PairNode; seq?: SeqNode }): ValueContext {
    const q = v.quote ? 1 : 0;
    const start = v.start + q;
    const end = Math.max(start, v.end - (q && this.text[v.end - 1] === v.quote && v.end - 1 > v.start ? 1 : 0));
    return { kind: 'value', path, ...holder, node: v, prefix: this.text.slice(start, Math.max(start, Math.min(this.offset, end))), replaceStart: start, replaceEnd: end, flow: v.flow, quoted: !!v.quote };
  }

  private emptyValue(path: PathSegment[], holder: { pair?: PairNode; seq?: SeqNode }, flow: boolean): ValueContext {
    return { kind: 'value', path, ...holder, prefix: '', replaceStart: this.offset, replaceEnd: this.offset, flow, quoted: false };
  }

  /** Only spaces (no line break) between two offsets. */
  private blankBetween(from: number, to: number): boolean {
    for (let i = from; i < to; i++) if (this.text[i] !== ' ' && this.text[i] !== '\t') return false;
    return true;
  }

  /** A blank line, or a word the reader could not place: indentation names the mapping. */
  byIndentation(root: YamlNode): CursorContext | undefined {
    const o = this.offset;
    const lineStart = this.text.lastIndexOf('\n', o - 1) + 1;
    const before = this.text.slice(lineStart, o);
    const m = /^( *)([A-Za-z0-9_.-]*)$/.exec(before);
    if (!m) return undefined;
    let wordEnd = o;
    while (wordEnd < this.text.length && /[A-Za-z0-9_.-]/.test(this.text[wordEnd])) wordEnd++;
    const column = m[1].length;
    const line = this.lineOf(o);
    const found = this.descend(root, [], line, column);
    if (!found) return undefined;
    return { kind: 'key', path: found.path, container: found.container, prefix: m[2], replaceStart: lineStart + column, replaceEnd: wordEnd, flow: false, quoted: false };
  }

  private descend(node: YamlNode, path: PathSegment[], line: number, column: number): { path: PathSegment[]; container?: MapNode } | undefined {
    if (node.flow || node.kind === 'scalar') return undefined;
    if (node.kind === 'map') {
      if (column < node.column) return undefined;
      const last = lastBefore(node.pairs, (p) => this.lineOf(p.keyStart) < line);
      if (last && column > node.column && last.colon !== undefined) {
        const v = last.value;
        const childPath = [...path, last.key];
        if (v && !v.flow && v.kind !== 'scalar' && this.lineOf(v.start) < line) {
          const inner = this.descend(v, childPath, line, column);
          if (inner) return inner;
          if (v.kind === 'map') return { path: childPath, container: v };
        } else if (!v) {
          return { path: childPath };
        }
      }
      return { path, container: node };
    }
    const items = node.items;
    let index = -1;
    for (let i = 0; i < items.length; i++) if (this.lineOf(items[i].start) < line) index = i;
    if (index < 0 || column <= node.column) return undefined;
    const v = items[index].value;
    const childPath = [...path, index];
    if (!v) return { path: childPath };
    if (v.flow || v.kind === 'scalar') return undefined;
    const inner = this.descend(v, childPath, line, column);
    if (inner) return inner;
    return v.kind === 'map' ? { path: childPath, container: v } : undefined;
  }
}

function lastBefore<T>(list: T[], test: (t: T) => boolean): T | undefined {
  let found: T | undefined;
  for (const t of list) if (test(t)) found = t;
  return found;
}
