/**
 * A forgiving YAML reader for the editor: it builds a tree of mappings, sequences and scalars with
 * the offset of every key, colon and value, and keeps going where a strict parser stops. While a
 * config is being typed it is seldom valid YAML (`    dep` without its colon, `{type: Res` without
 * its brace), yet completion must still know which mapping the cursor is in; indentation tells,
 * so this reader follows indentation rather than giving up.
 *
 * It covers what configs use: block mappings and sequences (`- key: v` included), flow `{}`/`[]`
 * across lines (so JSON configs too), plain and quoted scalars, comments, block scalars (`|`, `>`),
 * anchors/tags (skipped) and `---`. A line with a word and no colon becomes a pair with no colon
 * (a key being typed); a line indented where nothing can start is skipped. On valid documents the
 * values it reads equal the `yaml` package's (tested).
 */
import { setKey } from '../config/merge';

export interface ScalarNode {
  kind: 'scalar';
  start: number;
  end: number;
  flow: boolean;
  /** The source text of the scalar (without quotes for quoted ones: see `quote`). */
  raw: string;
  value: unknown;
  /** The quote character of a quoted scalar; the range then covers the quotes. */
  quote?: '"' | "'";
}

export interface PairNode {
  key: string;
  keyStart: number;
  keyEnd: number;
  /** The quote around the key, if any (JSON configs). */
  keyQuote?: '"' | "'";
  /** Offset of the `:`; undefined while the key is being typed. */
  colon?: number;
  value?: YamlNode;
  /** Offset where the pair starts (its key) and ends (its value, or its colon or key). */
  start: number;
  end: number;
}

export interface MapNode {
  kind: 'map';
  start: number;
  end: number;
  flow: boolean;
  /** Column of the keys of a block mapping; for flow mappings the column of `{`. */
  column: number;
  pairs: PairNode[];
  /** Flow mappings: whether the closing brace was found. */
  closed: boolean;
}

export interface ItemNode {
  /** Offset of the `-` of a block sequence item. */
  dash?: number;
  value?: YamlNode;
  start: number;
  end: number;
}

export interface SeqNode {
  kind: 'seq';
  start: number;
  end: number;
  flow: boolean;
  /** Column of the dashes of a block sequence; for flow sequences the column of `[`. */
  column: number;
  items: ItemNode[];
  closed: boolean;
}

export type YamlNode = ScalarNode | MapNode | SeqNode;

/**
 * Levels this reader descends before it stops reading (the rest of the text is left out and the
 * tree marked irregular): it recurses per level, and the editor hands it whatever is typed.
 * Config files are refused before this depth by `nestingBeyond` (config/nesting.ts).
 */
const MAX_SCAN_DEPTH = 200;

interface Line {
  start: number;
  end: number;
  indent: number;
  /** Has content other than spaces and a comment. */
  significant: boolean;
}

/** Read `text` into a tree; an empty document is an empty mapping. Never throws. */
export function scanYaml(text: string): YamlNode {
  return new Scanner(text).document();
}

/**
 * Read `text` and say whether the reader had to be forgiving anywhere, or met YAML it does not
 * model exactly (anchors, tags, block scalars, multi-line scalars, tabs, several documents...).
 * When `regular` is true, the tree holds exactly what the `yaml` package would read (tested by
 * comparing both on generated and mutated documents), so it can stand in for it.
 */
export function scanYamlStrict(text: string): { root: YamlNode; regular: boolean } {
  const scanner = new Scanner(text);
  const root = scanner.document();
  const regular = !scanner.irregular && !/[\t\r\uFEFF]/.test(text) && root.kind !== 'scalar';
  return { root, regular };
}

const FLOW_INDICATORS = new Set([',', '[', ']', '{', '}']);

class Scanner {
  /** Set where the reader was forgiving or met YAML it does not model exactly. */
  irregular = false;
  private readonly lines: Line[] = [];
  /** Index of the current line and the offset in it where reading continues. */
  private li = 0;
  private at = 0;
  /** Block and flow levels being read; where reading stopped for depth. */
  private depth = 0;
  private stoppedAt?: number;

  constructor(private readonly text: string) {
    let start = 0;
    for (;;) {
      let end = text.indexOf('\n', start);
      const last = end < 0;
      if (last) end = text.length;
      const lineEnd = end > start && text.charCodeAt(end - 1) === 13 ? end - 1 : end;
      let i = start;
      while (i < lineEnd && text.charCodeAt(i) === 32) i++;
      const rest = text.slice(i, lineEnd).trim();
      const directive = i === start && (rest === '---' || rest === '...' || rest.startsWith('--- ') || rest.startsWith('%'));
      if (directive) this.irregular = true;
      this.lines.push({ start, end: lineEnd, indent: i - start, significant: rest !== '' && !rest.startsWith('#') && !directive });
      if (last) break;
      start = end + 1;
    }
    this.at = this.lines[0].start;
  }

  document(): YamlNode {
    const tok = this.peek();
    if (!tok) return emptyMap(0);
    const node = this.blockNode(tok, -1);
    // Content after the root node (a dash after a mapping, a second flow collection): not read.
    if (this.peek()) this.irregular = true;
    return node ?? emptyMap(0);
  }

  // ---- positions -------------------------------------------------------------------------

  /** The next token: the rest of the current line if it has content, else the next significant line. */
  private peek(): { li: number; offset: number; column: number } | undefined {
    if (this.stoppedAt !== undefined) return undefined;
    let li = this.li;
    let off = this.at;
    for (;;) {
      if (li >= this.lines.length) return undefined;
      const line = this.lines[li];
      if (off < line.start) off = line.start;
      while (off < line.end && this.text.charCodeAt(off) === 32) off++;
      if (off < line.end && this.text[off] !== '#' && (off > line.start + line.indent || line.significant)) {
        return { li, offset: off, column: off - line.start };
      }
      li++;
      off = li < this.lines.length ? this.lines[li].start : this.text.length;
    }
  }

  private moveTo(offset: number): void {
    this.li = this.lineIndexOf(offset);
    this.at = offset;
  }

  private nextLine(): void {
    this.li++;
    this.at = this.li < this.lines.length ? this.lines[this.li].start : this.text.length;
  }

  private lineEndOf(offset: number): number {
    const line = this.lines[this.lineIndexOf(offset)];
    return line.end;
  }

  private lineIndexOf(offset: number): number {
    let li = Math.min(this.li, this.lines.length - 1);
    while (li > 0 && this.lines[li].start > offset) li--;
    while (li + 1 < this.lines.length && this.lines[li + 1].start <= offset) li++;
    return li;
  }

  // ---- block context ---------------------------------------------------------------------

  /** A node starting at `tok`, inside a block whose column is `parentColumn`. */
  private blockNode(tok: { li: number; offset: number; column: number }, parentColumn: number): YamlNode | undefined {
    if (this.stoppedAt !== undefined) return undefined;
    if (this.depth >= MAX_SCAN_DEPTH) {
      this.stoppedAt = tok.offset;
      this.irregular = true;
      return undefined;
    }
    this.depth++;
    try {
      return this.blockNodeHere(tok, parentColumn);
    } finally {
      this.depth--;
    }
  }

  private blockNodeHere(tok: { li: number; offset: number; column: number }, parentColumn: number): YamlNode | undefined {
    const c = this.text[tok.offset];
    if (c === '-' && isBlankOrEnd(this.text, tok.offset + 1)) return this.blockSeq(tok.column);
    if (c === '{' || c === '[') {
      const node = this.flowNode(tok.offset, parentColumn);
      this.afterValue(node.end);
      return node;
    }
    if (this.findKey(tok.offset)) return this.blockMap(tok.column);
    if (c === '|' || c === '>') return this.blockScalar(tok.offset, parentColumn);
    // A lone word where a mapping could start: most often a key being typed.
    if (c !== '"' && c !== "'" && parentColumn >= 0) return this.blockMap(tok.column);
    this.irregular = true;
    return this.plainOrQuoted(tok.offset, parentColumn);
  }

  private blockMap(column: number): MapNode {
    const map: MapNode = { kind: 'map', start: -1, end: -1, flow: false, column, pairs: [], closed: true };
    const keys = new Set<string>();
    let last = -1;
    for (;;) {
      const tok = this.peek();
      if (!tok || tok.column < column) break;
      if (tok.offset <= last || tok.column > column) {
        // Never read the same token twice; skip a line indented where nothing can start.
        this.irregular = true;
        this.li = tok.li;
        this.nextLine();
        continue;
      }
      last = tok.offset;
      const c = this.text[tok.offset];
      if (c === '-' && isBlankOrEnd(this.text, tok.offset + 1)) break;
      const pair = this.blockPair(tok, column);
      if (pair.colon !== undefined) {
        if (keys.has(pair.key)) this.irregular = true;
        keys.add(pair.key);
      }
      map.pairs.push(pair);
      if (map.start < 0) map.start = pair.start;
      map.end = pair.end;
    }
    if (map.start < 0) map.start = map.end = this.at;
    return map;
  }

  private blockPair(tok: { li: number; offset: number; column: number }, column: number): PairNode {
    this.li = tok.li;
    this.at = tok.offset;
    const key = this.findKey(tok.offset);
    const lineEnd = this.lines[tok.li].end;
    if (!key) {
      // A key being typed: the word(s) up to a comment.
      this.irregular = true;
      const end = trimRight(this.text, tok.offset, commentStart(this.text, tok.offset, lineEnd));
      let raw = this.text.slice(tok.offset, end);
      let quote: '"' | "'" | undefined;
      if ((raw.startsWith('"') || raw.startsWith("'")) && raw.length >= 1) {
        quote = raw[0] as '"' | "'";
        raw = raw.slice(1, raw.endsWith(quote) && raw.length > 1 ? -1 : undefined);
      }
      this.nextLine();
      return { key: raw, keyStart: tok.offset, keyEnd: end, keyQuote: quote, start: tok.offset, end };
    }
    const pair: PairNode = { key: key.key, keyStart: tok.offset, keyEnd: key.keyEnd, keyQuote: key.quote, colon: key.colon, start: tok.offset, end: key.colon + 1 };
    if ((key.quote ? key.exact === false : !isPlainKey(key.key)) || !isBlankOrEnd(this.text, key.colon + 1)) this.irregular = true;
    const valueTok = this.skipProperties(key.colon + 1, lineEnd);
    if (valueTok < lineEnd && this.text[valueTok] !== '#') {
      pair.value = this.applyTag(this.inlineValue(valueTok, column), key.colon + 1, valueTok);
      pair.end = pair.value.end;
      return pair;
    }
    this.nextLine();
    const next = this.peek();
    if (next && (next.column > column || (next.column === column && this.text[next.offset] === '-' && isBlankOrEnd(this.text, next.offset + 1)))) {
      const value = this.blockNode(next, column);
      if (value) {
        pair.value = value;
        pair.end = value.end;
      }
    }
    return pair;
  }

  /** A value written on the same line as its key or dash. */
  private inlineValue(offset: number, column: number): YamlNode {
    const c = this.text[offset];
    if (!startsPlainOrQuoted(this.text, offset)) this.irregular = true;
    if (c === '{' || c === '[') {
      const node = this.flowNode(offset, column);
      this.afterValue(node.end);
      return node;
    }
    if (c === '|' || c === '>') return this.blockScalar(offset, column);
    return this.plainOrQuoted(offset, column);
  }

  private blockSeq(column: number): SeqNode {
    const seq: SeqNode = { kind: 'seq', start: -1, end: -1, flow: false, column, items: [], closed: true };
    let last = -1;
    for (;;) {
      const tok = this.peek();
      if (!tok || tok.column < column) break;
      if (tok.offset <= last || tok.column > column) {
        this.irregular = true;
        this.li = tok.li;
        this.nextLine();
        continue;
      }
      last = tok.offset;
      if (!(this.text[tok.offset] === '-' && isBlankOrEnd(this.text, tok.offset + 1))) break;
      this.li = tok.li;
      const item: ItemNode = { dash: tok.offset, start: tok.offset, end: tok.offset + 1 };
      const lineEnd = this.lines[tok.li].end;
      const valueTok = this.skipProperties(tok.offset + 1, lineEnd);
      if (valueTok < lineEnd && this.text[valueTok] !== '#') {
        const line = this.lines[tok.li];
        const inner = { li: tok.li, offset: valueTok, column: valueTok - line.start };
        this.at = valueTok;
        item.value = this.findKey(valueTok) || (this.text[valueTok] === '-' && isBlankOrEnd(this.text, valueTok + 1)) ? this.blockNode(inner, column) : this.inlineValue(valueTok, column);
      } else {
        this.nextLine();
        const next = this.peek();
        if (next && next.column > column) item.value = this.blockNode(next, column);
      }
      if (item.value) item.end = item.value.end;
      seq.items.push(item);
      if (seq.start < 0) seq.start = item.start;
      seq.end = item.end;
    }
    if (seq.start < 0) seq.start = seq.end = this.at;
    return seq;
  }

  /** `!!str 12` is the string "12"; other tags leave the value as read. */
  private applyTag(node: YamlNode, from: number, to: number): YamlNode {
    if (node.kind === 'scalar' && !node.quote && /(^|\s)!!str(\s|$)/.test(this.text.slice(from, to))) node.value = node.raw;
    return node;
  }

  /** Skip anchors (`&a`) and tags (`!!str`) before a value; returns the offset of the value. */
  private skipProperties(offset: number, lineEnd: number): number {
    let i = offset;
    for (;;) {
      while (i < lineEnd && this.text.charCodeAt(i) === 32) i++;
      const c = this.text[i];
      if ((c === '&' || c === '!') && i < lineEnd) {
        this.irregular = true;
        while (i < lineEnd && this.text.charCodeAt(i) !== 32) i++;
        continue;
      }
      return i;
    }
  }

  /** `key:` at `offset` on its line: the key's text and the colon's offset. */
  private findKey(offset: number): { key: string; keyEnd: number; colon: number; quote?: '"' | "'"; exact?: boolean } | undefined {
    const lineEnd = this.lineEndOf(offset);
    const c = this.text[offset];
    if (c === '"' || c === "'") {
      const q = readQuoted(this.text, offset, lineEnd);
      if (!q.closed) return undefined;
      let i = q.end;
      while (i < lineEnd && this.text.charCodeAt(i) === 32) i++;
      if (this.text[i] !== ':') return undefined;
      return { key: String(q.value), keyEnd: q.end, colon: i, quote: c, exact: q.exact };
    }
    if (c === '#' || c === '{' || c === '[' || c === '|' || c === '>' || c === '*' || c === '&' || c === '!' || c === '%' || c === '@' || c === '`') return undefined;
    if (c === '-' && isBlankOrEnd(this.text, offset + 1)) return undefined;
    for (let i = offset; i < lineEnd; i++) {
      const ch = this.text[i];
      if (ch === '#' && this.text.charCodeAt(i - 1) === 32) return undefined;
      if (ch === ':' && isBlankOrEnd(this.text, i + 1)) {
        const keyEnd = trimRight(this.text, offset, i);
        if (keyEnd === offset) return undefined;
        return { key: this.text.slice(offset, keyEnd), keyEnd, colon: i };
      }
    }
    return undefined;
  }

  /** A plain or quoted scalar in block context, with plain continuation lines. */
  private plainOrQuoted(offset: number, column: number): ScalarNode {
    const c = this.text[offset];
    if (c === '"' || c === "'") {
      const q = readQuoted(this.text, offset, this.text.length);
      if (!q.closed || !q.exact) this.irregular = true;
      const node: ScalarNode = { kind: 'scalar', start: offset, end: q.end, flow: false, raw: this.text.slice(offset + 1, q.closed ? q.end - 1 : q.end), value: q.value, quote: c };
      this.afterValue(q.end);
      return node;
    }
    const lineEnd = this.lineEndOf(offset);
    let end = trimRight(this.text, offset, commentStart(this.text, offset, lineEnd));
    const parts = [this.text.slice(offset, end)];
    if (/:(\s|$)/.test(parts[0])) this.irregular = true;
    this.moveTo(offset);
    this.nextLine();
    // Continuation lines: more indented than the block, neither a key nor an item.
    for (;;) {
      const next = this.peek();
      if (!next || next.column <= column || this.findKey(next.offset) || this.text[next.offset] === '#') break;
      if (this.text[next.offset] === '-' && isBlankOrEnd(this.text, next.offset + 1)) break;
      this.irregular = true;
      const le = this.lines[next.li].end;
      end = trimRight(this.text, next.offset, commentStart(this.text, next.offset, le));
      parts.push(this.text.slice(next.offset, end));
      this.li = next.li;
      this.nextLine();
    }
    const raw = parts.join(' ');
    return { kind: 'scalar', start: offset, end, flow: false, raw, value: parts.length > 1 ? raw : plainValue(raw) };
  }

  /** `|` and `>` scalars: the lines indented deeper than the block. */
  private blockScalar(offset: number, column: number): ScalarNode {
    this.irregular = true;
    const header = this.text.slice(offset, trimRight(this.text, offset, commentStart(this.text, offset, this.lineEndOf(offset))));
    this.moveTo(offset);
    this.nextLine();
    const body: string[] = [];
    let end = this.lineEndOf(offset);
    let indent = -1;
    while (this.li < this.lines.length) {
      const line = this.lines[this.li];
      const blank = this.text.slice(line.start, line.end).trim() === '';
      if (!blank && line.indent <= column) break;
      if (!blank && indent < 0) indent = line.indent;
      body.push(blank ? '' : this.text.slice(line.start + Math.min(indent, line.indent), line.end));
      if (!blank) end = line.end;
      this.nextLine();
    }
    while (body.length && body[body.length - 1] === '') body.pop();
    // Re-position after the last content line, so that trailing blank lines belong to no one.
    this.moveTo(end);
    this.nextLine();
    const folded = header.startsWith('>');
    let value = folded ? body.join(' ').replace(/ ?\n ?/g, '\n') : body.join('\n');
    if (!header.includes('-')) value += '\n';
    return { kind: 'scalar', start: offset, end, flow: false, raw: header, value };
  }

  /** After a value that ended at `end`, continue at the next line (only a comment may follow on its line). */
  private afterValue(end: number): void {
    const rest = this.text.slice(end, this.lineEndOf(end));
    if (rest.trim() !== '' && !/^[ \t]+#/.test(rest)) this.irregular = true;
    this.moveTo(end);
    this.nextLine();
  }

  // ---- flow context ----------------------------------------------------------------------

  /**
   * A flow node at `offset`. An unclosed collection stops at a line indented no deeper than its
   * block (`blockColumn`), so a brace left open while typing does not swallow the rest of the file.
   */
  private flowNode(offset: number, blockColumn: number): YamlNode {
    const reader = new FlowReader(this.text, blockColumn, MAX_SCAN_DEPTH - this.depth);
    const node = reader.node(offset).node;
    if (reader.irregular) this.irregular = true;
    if (reader.stoppedAt !== undefined) this.stoppedAt = reader.stoppedAt;
    return node;
  }
}

class FlowReader {
  irregular = false;
  /** Where reading stopped because collections nest deeper than `levelsLeft`. */
  stoppedAt?: number;

  constructor(
    private readonly text: string,
    private readonly blockColumn: number,
    private levelsLeft: number,
  ) {}

  /** Skip spaces, line breaks and comments; undefined where the flow must stop (a dedented line, EOF). */
  private skip(i: number): number | undefined {
    const t = this.text;
    for (;;) {
      if (i >= t.length) return undefined;
      const c = t[i];
      if (c === ' ' || c === '\t' || c === '\r') {
        i++;
      } else if (c === '\n') {
        i++;
        let j = i;
        while (j < t.length && t[j] === ' ') j++;
        const rest = t[j];
        const content = j < t.length && rest !== '\n' && rest !== '\r' && rest !== '#';
        // `yaml` wants flow lines indented deeper than their block; a closing bracket is forgiven here.
        if (content && j - i <= this.blockColumn) {
          this.irregular = true;
          if (rest !== '}' && rest !== ']') return undefined;
        }
      } else if (c === '#' && (i === 0 || /\s/.test(t[i - 1]))) {
        while (i < t.length && t[i] !== '\n') i++;
      } else {
        return i;
      }
    }
  }

  node(offset: number): { node: YamlNode } {
    const c = this.text[offset];
    if (c !== '{' && c !== '[') return { node: this.scalar(offset) };
    if (this.levelsLeft <= 0) {
      // An unclosed collection: every enclosing one gives up too, so the reading unwinds here.
      this.stoppedAt ??= offset;
      return { node: this.odd({ kind: 'map', start: offset, end: offset + 1, flow: true, column: this.columnOf(offset), pairs: [], closed: false }) };
    }
    this.levelsLeft--;
    try {
      return { node: c === '{' ? this.map(offset) : this.seq(offset) };
    } finally {
      this.levelsLeft++;
    }
  }

  private columnOf(offset: number): number {
    return offset - (this.text.lastIndexOf('\n', offset - 1) + 1);
  }

  private map(open: number): MapNode {
    const map: MapNode = { kind: 'map', start: open, end: open + 1, flow: true, column: this.columnOf(open), pairs: [], closed: false };
    let i: number | undefined = open + 1;
    let expectEntry = true;
    for (;;) {
      i = this.skip(i);
      if (i === undefined) return this.odd(map);
      const c = this.text[i];
      if (c === '}') {
        map.closed = true;
        map.end = i + 1;
        return map;
      }
      if (c === ',') {
        // `{,` and `,,` are errors in YAML; a trailing `,}` is not.
        if (expectEntry) this.irregular = true;
        expectEntry = true;
        i++;
        map.end = i;
        continue;
      }
      if (c === ']' || !expectEntry) return this.odd(map);
      expectEntry = false;
      const keyNode = this.scalar(i, true);
      const pair: PairNode = { key: String(keyNode.quote ? keyNode.value : keyNode.raw), keyStart: keyNode.start, keyEnd: keyNode.end, keyQuote: keyNode.quote, start: keyNode.start, end: keyNode.end };
      map.pairs.push(pair);
      map.end = pair.end;
      let j = this.skip(keyNode.end);
      if (j === undefined) return this.odd(map);
      if (this.text[j] === ':') {
        pair.colon = j;
        pair.end = map.end = j + 1;
        // `{a:1}` is the key "a:1" in YAML, but only JSON-style `{"a":1}` splits there.
        if (!keyNode.quote && !isBlankOrEnd(this.text, j + 1) && !FLOW_INDICATORS.has(this.text[j + 1])) this.irregular = true;
        if (!keyNode.quote && !isPlainKey(pair.key)) this.irregular = true;
        const v = this.skip(j + 1);
        if (v === undefined) return this.odd(map);
        if (this.text[v] !== ',' && this.text[v] !== '}' && this.text[v] !== ']') {
          pair.value = this.node(v).node;
          pair.end = map.end = pair.value.end;
          if ((pair.value.kind === 'map' || pair.value.kind === 'seq') && !pair.value.closed) return this.odd(map);
        }
        j = this.skip(pair.end);
        if (j === undefined) return this.odd(map);
      } else {
        // `{a, b}` is valid YAML (null values) but not worth modelling.
        this.irregular = true;
      }
      i = j;
      if (this.text[i] !== ',' && this.text[i] !== '}') {
        // Something unexpected: give up on this collection, as a strict parser would.
        return this.odd(map);
      }
    }
  }

  private seq(open: number): SeqNode {
    const seq: SeqNode = { kind: 'seq', start: open, end: open + 1, flow: true, column: this.columnOf(open), items: [], closed: false };
    let i: number | undefined = open + 1;
    let expectEntry = true;
    for (;;) {
      i = this.skip(i);
      if (i === undefined) return this.odd(seq);
      const c = this.text[i];
      if (c === ']') {
        seq.closed = true;
        seq.end = i + 1;
        return seq;
      }
      if (c === ',') {
        if (expectEntry) this.irregular = true;
        expectEntry = true;
        i++;
        seq.end = i;
        continue;
      }
      if (c === '}' || !expectEntry) return this.odd(seq);
      expectEntry = false;
      const value = this.node(i).node;
      seq.items.push({ value, start: value.start, end: value.end });
      seq.end = value.end;
      if ((value.kind === 'map' || value.kind === 'seq') && !value.closed) return this.odd(seq);
      i = value.end;
      const j = this.skip(i);
      if (j === undefined) return this.odd(seq);
      if (this.text[j] !== ',' && this.text[j] !== ']') return this.odd(seq);
      i = j;
    }
  }

  /** Mark the collection as one the reader gave up on, and return it. */
  private odd<T>(node: T): T {
    this.irregular = true;
    return node;
  }

  private scalar(offset: number, isKey = false): ScalarNode {
    const t = this.text;
    const c = t[offset];
    if (!startsPlainOrQuoted(t, offset) || c === '?' || ((c === '-' || c === ':') && FLOW_INDICATORS.has(t[offset + 1] ?? ''))) this.irregular = true;
    if (c === '"' || c === "'") {
      const q = readQuoted(t, offset, t.length);
      if (!q.closed || !q.exact) this.irregular = true;
      return { kind: 'scalar', start: offset, end: q.end, flow: true, raw: t.slice(offset + 1, q.closed ? q.end - 1 : q.end), value: q.value, quote: c };
    }
    let i = offset;
    while (i < t.length) {
      const ch = t[i];
      if (ch === '\n' || ch === '\r' || FLOW_INDICATORS.has(ch)) break;
      if (ch === ':' && (isKey || isBlankOrEnd(t, i + 1) || FLOW_INDICATORS.has(t[i + 1] ?? ''))) break;
      if (ch === '#' && i > offset && /\s/.test(t[i - 1])) break;
      i++;
    }
    const end = trimRight(t, offset, i);
    const raw = t.slice(offset, end);
    return { kind: 'scalar', start: offset, end, flow: true, raw, value: plainValue(raw) };
  }
}

// ---- scalars -------------------------------------------------------------------------------

function isBlankOrEnd(text: string, i: number): boolean {
  const c = text[i];
  return c === undefined || c === ' ' || c === '\t' || c === '\n' || c === '\r';
}

function trimRight(text: string, start: number, end: number): number {
  while (end > start && (text[end - 1] === ' ' || text[end - 1] === '\t')) end--;
  return end;
}

/** Offset of a ` #` comment on the line, or `lineEnd`. */
function commentStart(text: string, from: number, lineEnd: number): number {
  for (let i = from; i < lineEnd; i++) if (text[i] === '#' && (i === from || text[i - 1] === ' ' || text[i - 1] === '\t')) return i;
  return lineEnd;
}

/**
 * A quoted scalar on one line. `exact` is false where its value may differ from YAML's: escapes
 * beyond JSON's.
 */
function readQuoted(text: string, offset: number, limit: number): { value: string; end: number; closed: boolean; exact: boolean } {
  let exact = true;
  const q = text[offset];
  let out = '';
  let i = offset + 1;
  while (i < limit) {
    const c = text[i];
    if (q === "'" && c === "'") {
      if (text[i + 1] === "'") {
        out += "'";
        i += 2;
        continue;
      }
      return { value: out, end: i + 1, closed: true, exact };
    }
    if (q === '"' && c === '"') return { value: out, end: i + 1, closed: true, exact };
    if (q === '"' && c === '\\' && i + 1 < limit) {
      const e = text[i + 1];
      const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '"': '"', '\\': '\\', '/': '/', '0': '\0', b: '\b', f: '\f', ' ': ' ' };
      if (!'nrt"\\/bfu'.includes(e)) exact = false;
      if (e in simple) {
        out += simple[e];
        i += 2;
        continue;
      }
      const hex = e === 'x' ? 2 : e === 'u' ? 4 : e === 'U' ? 8 : 0;
      if (hex) {
        if (!/^[0-9a-fA-F]+$/.test(text.slice(i + 2, i + 2 + hex)) || text.slice(i + 2, i + 2 + hex).length < hex) exact = false;
        out += String.fromCodePoint(parseInt(text.slice(i + 2, i + 2 + hex), 16) || 0);
        i += 2 + hex;
        continue;
      }
      out += e;
      i += 2;
      continue;
    }
    // Quoted scalars in configs stay on one line; one left open while typing ends at the line's end.
    if (c === '\n' || c === '\r') return { value: out, end: i, closed: false, exact };
    out += c;
    i++;
  }
  return { value: out, end: limit, closed: false, exact };
}

/** A plain key that the `yaml` package would read as this very string (not `~`, `0x10`, `1.0`, ...). */
function isPlainKey(raw: string): boolean {
  if (raw === '' || '?:-"\'{['.includes(raw[0]) || !startsPlainOrQuoted(raw, 0) || raw.includes(' #')) return false;
  const v = plainValue(raw);
  return typeof v === 'string' || String(v) === raw;
}

/** A scalar may start here: not an indicator that YAML reserves or gives another meaning. */
function startsPlainOrQuoted(text: string, offset: number): boolean {
  const c = text[offset];
  if (c === '"' || c === "'" || c === '{' || c === '[') return true;
  if ('&*!|>%@`#,]}'.includes(c)) return false;
  if ((c === '-' || c === '?' || c === ':') && isBlankOrEnd(text, offset + 1)) return false;
  return true;
}

/** A plain scalar's value under YAML 1.2's core schema (what the `yaml` package reads). */
export function plainValue(raw: string): unknown {
  if (raw === '' || raw === '~' || raw === 'null' || raw === 'Null' || raw === 'NULL') return null;
  if (raw === 'true' || raw === 'True' || raw === 'TRUE') return true;
  if (raw === 'false' || raw === 'False' || raw === 'FALSE') return false;
  if (/^[-+]?[0-9]+$/.test(raw)) return Number(raw);
  if (/^0o[0-7]+$/.test(raw)) return parseInt(raw.slice(2), 8);
  if (/^0x[0-9a-fA-F]+$/.test(raw)) return parseInt(raw.slice(2), 16);
  if (/^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/.test(raw)) return Number(raw);
  if (/^[-+]?\.(inf|Inf|INF)$/.test(raw)) return raw.startsWith('-') ? -Infinity : Infinity;
  if (/^\.(nan|NaN|NAN)$/.test(raw)) return NaN;
  return raw;
}

function emptyMap(offset: number): MapNode {
  return { kind: 'map', start: offset, end: offset, flow: false, column: 0, pairs: [], closed: true };
}

// ---- reading the tree ----------------------------------------------------------------------

/**
 * Plain values of a tree. Pairs without a colon are left out (keys being typed), and with
 * `skipEmpty` so are keys with nothing after them yet, which would otherwise hide what a base
 * file sets there while the user is still typing below them.
 */
export function toValue(node: YamlNode | undefined, skipEmpty = false): unknown {
  if (!node) return null;
  if (node.kind === 'scalar') return node.value;
  if (node.kind === 'seq') return node.items.map((i) => toValue(i.value, skipEmpty));
  const out: Record<string, unknown> = {};
  for (const p of node.pairs) {
    if (p.colon === undefined || (skipEmpty && !p.value)) continue;
    // As the configs' readers do: `__proto__:` is a key (which validation calls unknown), not the prototype.
    setKey(out, p.key, toValue(p.value, skipEmpty));
  }
  return out;
}

export type PathSegment = string | number;

/** The node at a key path, or undefined. */
export function nodeAt(root: YamlNode, path: readonly PathSegment[]): YamlNode | undefined {
  let cur: YamlNode | undefined = root;
  for (const seg of path) {
    if (!cur) return undefined;
    if (cur.kind === 'map') cur = findPair(cur, String(seg))?.value;
    else if (cur.kind === 'seq') cur = cur.items[Number(seg)]?.value;
    else return undefined;
  }
  return cur;
}

export function findPair(map: MapNode, key: string): PairNode | undefined {
  for (let i = map.pairs.length - 1; i >= 0; i--) if (map.pairs[i].key === key && map.pairs[i].colon !== undefined) return map.pairs[i];
  return undefined;
}

/** The `type` written in a mapping node, if any. */
export function typeOf(node: YamlNode | undefined): string | undefined {
  if (!node || node.kind !== 'map') return undefined;
  const v = findPair(node, 'type')?.value;
  return v?.kind === 'scalar' && typeof v.value === 'string' && v.value !== '' ? v.value : undefined;
}
