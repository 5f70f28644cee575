/**
 * Quick fixes for the validator's problems, as text edits of the file the problem is in:
 * "did you mean X?" for unknown `type` names and keys, removing an unknown key, adding missing
 * required parameters (with their defaults or example values), and adding a missing `type`.
 */
import type { z } from 'zod';
import type { Problem, Range } from '../problems';
import { registries } from '../registry';
import { shapeOf } from '../schema';
import { isComponentKind } from '../kinds';
import type { ConfigDocument } from './configDocument';
import { nodeAt, type MapNode, type PairNode, type PathSegment, type YamlNode } from './yamlScan';
import { blockYamlLines, exampleValue, inlineYaml } from './yamlText';

type AnySchema = z.core.$ZodType;

export interface TextEdit {
  range: Range;
  newText: string;
}

export interface QuickFix {
  title: string;
  edits: TextEdit[];
  /** The fix to apply with one keystroke (the best suggestion). */
  preferred?: boolean;
  /** The problem it fixes (editors attach the fix to its diagnostic). */
  problem: Problem;
}

/** At most this many "did you mean" or "add type" fixes per problem. */
const MAX_ALTERNATIVES = 5;

/** Fixes for problems of `doc`'s file (others are skipped: their edits belong to another file). */
export function quickFixes(doc: ConfigDocument, problems: Problem[]): QuickFix[] {
  return problems.filter((p) => p.file === doc.file).flatMap((p) => fixesFor(doc, p));
}

function fixesFor(doc: ConfigDocument, problem: Problem): QuickFix[] {
  switch (problem.code) {
    case 'unknown-type':
    case 'wrong-slot':
      return replaceValue(doc, problem);
    case 'unknown-key':
      return [...renameKey(doc, problem), ...removeKey(doc, problem)];
    case 'missing-required':
      return addMissing(doc, problem);
    case 'missing-type':
      return addType(doc, problem);
    default:
      return [];
  }
}

function replaceValue(doc: ConfigDocument, problem: Problem): QuickFix[] {
  const start = doc.index.offsetAt(problem.range.start);
  const node = scalarStartingAt(doc.root, start);
  // Inside quotes when quoted, so `"ResNte"` becomes `"ResNet"`.
  const q = node?.quote ? 1 : 0;
  const range = node ? doc.range(node.start + q, node.end - q) : problem.range;
  return (problem.suggestions ?? []).slice(0, MAX_ALTERNATIVES).map((s, i) => ({
    title: `Change to "${s}"`,
    edits: [{ range, newText: s }],
    preferred: i === 0,
    problem,
  }));
}

function renameKey(doc: ConfigDocument, problem: Problem): QuickFix[] {
  const found = pairAndMapAt(doc.root, doc.index.offsetAt(problem.range.start));
  if (!found) return [];
  const { pair, map } = found;
  const q = pair.keyQuote ? 1 : 0;
  const range = doc.range(pair.keyStart + q, pair.keyEnd - q);
  // Not to a key this mapping already has (`modle` beside `model`): that would write it twice.
  const names = (problem.suggestions ?? []).filter((s) => !map.pairs.some((p) => p.key === s));
  return names.slice(0, MAX_ALTERNATIVES).map((s, i) => ({
    title: `Rename to "${s}"`,
    edits: [{ range, newText: s }],
    preferred: i === 0,
    problem,
  }));
}

function removeKey(doc: ConfigDocument, problem: Problem): QuickFix[] {
  const found = pairAndMapAt(doc.root, doc.index.offsetAt(problem.range.start));
  if (!found) return [];
  const { pair, map } = found;
  return [{ title: `Remove "${pair.key}"`, edits: [{ range: doc.range(...removalSpan(doc, map, pair)), newText: '' }], problem }];
}

/** The text to delete to remove a pair: its whole lines in block style, the pair and a comma in flow style. */
function removalSpan(doc: ConfigDocument, map: MapNode, pair: PairNode): [number, number] {
  const i = map.pairs.indexOf(pair);
  const next = map.pairs[i + 1];
  const prev = map.pairs[i - 1];
  if (map.flow) {
    if (next) return [pair.start, next.start];
    if (prev) return [prev.end, pair.end];
    return [pair.start, pair.end];
  }
  const text = doc.text;
  const lineStart = text.lastIndexOf('\n', pair.start - 1) + 1;
  const firstOnLine = /^[ \t]*$/.test(text.slice(lineStart, pair.start));
  if (!firstOnLine) {
    // `- key: v` whose item goes on: the next key moves up behind the dash.
    if (next) return [pair.start, next.start];
    return [pair.start, pair.end];
  }
  const endLine = doc.index.positionAt(pair.end).line;
  const end = endLine + 1 < doc.index.lineCount ? doc.index.lineStart(endLine + 1) : doc.text.length;
  return [lineStart, end];
}

function addMissing(doc: ConfigDocument, problem: Problem): QuickFix[] {
  const missing = (problem.data?.missing as string[] | undefined) ?? [];
  if (!missing.length) return [];
  const at = pathOf(problem.path);
  const shape = schemaShape(doc, problem, at);
  const values: Array<[string, unknown]> = missing.map((k) => [k, shape?.[k] ? exampleValue(shape[k]) : null]);
  const edit = insertKeys(doc, at, values);
  if (!edit) return [];
  const names = missing.map((k) => `"${k}"`).join(', ');
  return [{ title: `Add missing ${missing.length === 1 ? 'parameter' : 'parameters'} ${names}`, edits: [edit], preferred: true, problem }];
}

function addType(doc: ConfigDocument, problem: Problem): QuickFix[] {
  const kind = problem.data?.kind;
  const names = typeof kind === 'string' && isComponentKind(kind) ? registries[kind].names() : (problem.suggestions ?? []);
  const at = pathOf(problem.path);
  return names.slice(0, MAX_ALTERNATIVES).flatMap((name) => {
    const edit = insertKeys(doc, at, [['type', name]], true);
    return edit ? [{ title: `Add "type: ${name}"`, edits: [edit], problem }] : [];
  });
}

function schemaShape(doc: ConfigDocument, problem: Problem, at: PathSegment[]): Record<string, AnySchema> | undefined {
  const component = problem.data?.component as { kind?: string; type?: string } | undefined;
  if (component?.kind && component.type && isComponentKind(component.kind)) {
    const entry = registries[component.kind].get(component.type);
    if (entry) return shapeOf(entry.params);
  }
  const schema = doc.schemaAt(at);
  return schema ? shapeOf(schema) : undefined;
}

/** An edit that adds `key: value` pairs to the mapping at `at` (or makes one under an empty key). */
function insertKeys(doc: ConfigDocument, at: PathSegment[], values: Array<[string, unknown]>, first = false): TextEdit | undefined {
  const unit = indentUnit(doc.root);
  const node = nodeAt(doc.root, at);
  if (node?.kind === 'map' && node.flow) {
    const inline = values.map(([k, v]) => `${k}: ${inlineYaml(v, doc.isJson)}`).map((s) => (doc.isJson ? s.replace(/^(\w+):/, '"$1":') : s));
    if (first || !node.pairs.length) {
      const pos = node.start + 1;
      return { range: doc.range(pos, pos), newText: inline.join(', ') + (node.pairs.length ? ', ' : '') };
    }
    const pos = node.pairs[node.pairs.length - 1].end;
    return { range: doc.range(pos, pos), newText: ', ' + inline.join(', ') };
  }
  if (node?.kind === 'map' && node.pairs.length) {
    const indent = ' '.repeat(node.column);
    const lines = values.flatMap(([k, v]) => blockYamlLines(k, v, indent, unit));
    if (first) {
      // Before the first key, on its own line (the first key may follow a dash: keep it there).
      const firstPair = node.pairs[0];
      return { range: doc.range(firstPair.start, firstPair.start), newText: lines.map((l) => l.slice(indent.length)).join('\n' + indent) + '\n' + indent };
    }
    const lastLine = doc.index.positionAt(node.end).line;
    const pos = doc.index.lineEnd(lastLine);
    return { range: doc.range(pos, pos), newText: '\n' + lines.join('\n') };
  }
  // No mapping yet: `head:` with nothing after it.
  const parent = at.length ? nodeAt(doc.root, at.slice(0, -1)) : undefined;
  const pair = parent?.kind === 'map' ? parent.pairs.find((p) => p.key === String(at[at.length - 1])) : undefined;
  if (pair && !pair.value && pair.colon !== undefined) {
    const keyColumn = doc.index.positionAt(pair.keyStart).character;
    const indent = ' '.repeat(keyColumn) + unit;
    const lines = values.flatMap(([k, v]) => blockYamlLines(k, v, indent, unit));
    const pos = doc.index.lineEnd(doc.index.positionAt(pair.colon).line);
    return { range: doc.range(pos, pos), newText: '\n' + lines.join('\n') };
  }
  return undefined;
}

function pathOf(dotted: string): PathSegment[] {
  return dotted === '' ? [] : dotted.split('.').map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

/** The indentation step the document uses (2 unless it nests otherwise). */
function indentUnit(root: YamlNode): string {
  const walk = (n: YamlNode | undefined, parentColumn: number): number | undefined => {
    if (!n || n.kind === 'scalar' || n.flow) return undefined;
    if (parentColumn >= 0 && n.column > parentColumn && n.kind === 'map') return n.column - parentColumn;
    const kids = n.kind === 'map' ? n.pairs.map((p) => p.value) : n.items.map((i) => i.value);
    for (const k of kids) {
      const found = walk(k, n.kind === 'map' ? n.column : -1);
      if (found) return found;
    }
    return undefined;
  };
  return ' '.repeat(walk(root, -1) ?? 2);
}

function* pairsOf(node: YamlNode | undefined): Generator<{ pair: PairNode; map: MapNode }> {
  if (!node || node.kind === 'scalar') return;
  if (node.kind === 'map') {
    for (const pair of node.pairs) {
      yield { pair, map: node };
      yield* pairsOf(pair.value);
    }
  } else {
    for (const item of node.items) yield* pairsOf(item.value);
  }
}

function pairAndMapAt(root: YamlNode, keyStart: number): { pair: PairNode; map: MapNode } | undefined {
  for (const found of pairsOf(root)) if (found.pair.keyStart === keyStart) return found;
  return undefined;
}

function scalarStartingAt(root: YamlNode, start: number): Extract<YamlNode, { kind: 'scalar' }> | undefined {
  const visit = (n: YamlNode | undefined): Extract<YamlNode, { kind: 'scalar' }> | undefined => {
    if (!n) return undefined;
    if (n.kind === 'scalar') return n.start === start ? n : undefined;
    if (start < n.start || start > n.end) return undefined;
    const kids = n.kind === 'map' ? n.pairs.map((p) => p.value) : n.items.map((i) => i.value);
    for (const k of kids) {
      const r = visit(k);
      if (r) return r;
    }
    return undefined;
  };
  return visit(root);
}
