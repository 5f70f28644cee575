/**
 * A fast path for reading config files: when the forgiving reader meets nothing it had to forgive
 * and no YAML it does not model exactly, its tree gives the same values and the same positions as
 * the `yaml` package, about ten times faster (the `yaml` parser spends ~30 µs a line). Diagnostics
 * of a 2,000-line config must come back within 50 ms of a keystroke; the full parser alone takes
 * most of that. Anything irregular (a syntax error, anchors, tags, block scalars, tabs, CRLF...)
 * returns undefined, and the caller parses with `yaml`, which gives the exact error messages.
 *
 * `test/language/fastParse.test.ts` compares both readers on generated documents and on thousands
 * of mutations of them: whenever this path answers, its values and positions equal `yaml`'s.
 */
import { LineCounter, parseDocument, type Document } from 'yaml';
import type { Origins, ParsedFile } from '../config/yamlFile';
import { TextIndex } from './textIndex';
import { setKey } from '../config/merge';
import { scanYamlStrict, type YamlNode } from './yamlScan';

const WHITESPACE = /\s*/y;

/**
 * Whether `text` from `from` on is blank lines, then a comment: `/^(\s*\n)*[ ]*#/`, which
 * backtracks exponentially over blank lines (`\s` matches the line breaks too). The same test
 * in one pass: the whitespace run ends at `#`, and its last line holds spaces only.
 */
export function commentAfterBlankLines(text: string, from: number): boolean {
  WHITESPACE.lastIndex = from;
  WHITESPACE.exec(text);
  const hash = WHITESPACE.lastIndex;
  if (text[hash] !== '#') return false;
  const lineStart = Math.max(from, text.lastIndexOf('\n', hash - 1) + 1);
  for (let i = lineStart; i < hash; i++) if (text[i] !== ' ') return false;
  return true;
}

export function fastParse(file: string, text: string): ParsedFile | undefined {
  const { root, regular } = scanYamlStrict(text);
  if (!regular) return undefined;
  const index = new TextIndex(text);
  const origins: Origins = new Map();
  const range = (start: number, end: number) => index.range(start, end);
  /** False when `yaml` would place some range in a way this path does not model. */
  let placeable = true;
  /**
   * `yaml`'s range of a node. A block collection ends where its last entry's value ends,
   * including the rest of that line (comment, line break), unless that value is empty (`key:`):
   * then right after the colon or dash.
   */
  const endOf = (node: YamlNode): number => {
    if (node.kind === 'scalar' || node.flow) return node.end;
    const last = node.kind === 'map' ? node.pairs[node.pairs.length - 1] : node.items[node.items.length - 1];
    if (!last) return node.end;
    if (!last.value) return 'colon' in last ? last.colon! + 1 : (last as { dash?: number }).dash! + 1;
    let end: number;
    if (last.value.kind !== 'scalar' && !last.value.flow) end = endOf(last.value);
    else {
      const nl = text.indexOf('\n', last.value.end);
      end = nl < 0 ? text.length : nl + 1;
    }
    // Comment lines indented deeper than the collection belong to its end in `yaml`: leave those to it.
    if (text[end - 1] === '\n') {
      const comment = /^(?:[ ]*\n)*([ ]*)#/.exec(text.slice(end, end + 400));
      if (comment && comment[1].length > node.column) placeable = false;
    }
    return end;
  };
  const rangeOf = (node: YamlNode) => range(node.start, endOf(node));
  // An empty value followed by spaces or a comment (`key:   # todo`): `yaml` places its null
  // somewhere in between; rare enough to leave to it.
  // Comment lines right after an empty value move the ends of `yaml`'s ranges too.
  const emptyAt = (indicatorEnd: number) => {
    const nl = text.indexOf('\n', indicatorEnd);
    if (text.slice(indicatorEnd, nl < 0 ? text.length : nl) !== '') placeable = false;
    if (nl >= 0 && commentAfterBlankLines(text, nl + 1)) placeable = false;
    return range(indicatorEnd, indicatorEnd);
  };
  const join = (parent: string, key: string | number) => (parent === '' ? String(key) : `${parent}.${key}`);
  const convert = (node: YamlNode, at: string): unknown => {
    if (node.kind === 'scalar') return node.value;
    if (node.kind === 'seq') {
      return node.items.map((item, i) => {
        const child = join(at, i);
        origins.set(child, { file, value: item.value ? rangeOf(item.value) : emptyAt(item.dash! + 1) });
        return item.value ? convert(item.value, child) : null;
      });
    }
    const out: Record<string, unknown> = {};
    for (const pair of node.pairs) {
      const child = join(at, pair.key);
      // A key twice in a flow mapping (`{lr: 1, lr: 2}`): `yaml`'s reading reports it.
      if (Object.hasOwn(out, pair.key)) placeable = false;
      setKey(out, pair.key, pair.value ? convert(pair.value, child) : null);
      origins.set(child, { file, key: range(pair.keyStart, pair.keyEnd), value: pair.value ? rangeOf(pair.value) : emptyAt(pair.colon! + 1) });
    }
    return out;
  };
  const empty = root.kind === 'map' && !root.flow && root.pairs.length === 0;
  const value = empty ? {} : convert(root, '');
  origins.set('', { file, value: empty ? range(0, 0) : rangeOf(root) });
  if (!placeable) return undefined;
  let parsed: { document: Document.Parsed; lineCounter: LineCounter } | undefined;
  // Editors that walk `yaml`'s syntax tree get it on first use.
  const full = () => {
    if (!parsed) {
      const lineCounter = new LineCounter();
      parsed = { document: parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false, merge: false }), lineCounter };
    }
    return parsed;
  };
  return {
    file,
    value,
    origins,
    problems: [],
    get document() {
      return full().document;
    },
    get lineCounter() {
      return full().lineCounter;
    },
  };
}
