/**
 * The merged config as YAML text in which every value knows where it came from: the `_base_`
 * file and position that wrote it, a command-line override, or a schema default. One rendering
 * for `cvw config print --origins` (origins as trailing comments) and the editor's resolved-config
 * document (origins as hovers and inlay hints at the positions listed here).
 */
import * as path from 'node:path';
import { Document, isCollection, isNode, type Node } from 'yaml';
import { isPlainObject } from '../schema';
import { COMMAND_LINE, type Range } from '../problems';
import { getPath, type Overridden } from './merge';
import { fileAt } from './shadowing';
import { joinPath, locate, parseConfigTextWithYaml, type Origin, type Origins } from './yamlFile';

export interface ResolvedValue {
  /** Dotted key path (`model.backbone.depth`, `data.train.pipeline.0.type`). */
  path: string;
  /** Where the value is in the rendered text (0-based). */
  range: Range;
  /** Where its key is, for values of mappings. */
  key?: Range;
  /** Who set it; undefined for a default of the schema that no file or override set. */
  origin?: Origin;
  /** The values it replaced, oldest first (a base's, then a child's, ...). */
  overridden?: Overridden[];
}

export interface ResolvedView {
  text: string;
  /** Every leaf value (scalars, lists of scalars, empty mappings), in the order of the text. */
  values: ResolvedValue[];
}

export interface ResolvedViewOptions {
  /** Text of a trailing `# comment` for each value; none when absent. */
  comment?: (origin: Origin | undefined) => string;
  /** Comment lines at the top of the text. */
  header?: string[];
  /** The values replaced at each path (LoadedConfig.overridden). */
  overridden?: Map<string, Overridden[]>;
}

type Segment = string | number;

/** Values shown on one line: scalars, lists of scalars (in flow style), empty mappings. */
function isLeaf(v: unknown): boolean {
  if (Array.isArray(v)) return v.every((x) => !Array.isArray(x) && !isPlainObject(x));
  return !isPlainObject(v) || Object.keys(v).length === 0;
}

function leaves(value: unknown, at: Segment[], out: Segment[][]): void {
  if (at.length && isLeaf(value)) {
    out.push(at);
    return;
  }
  if (Array.isArray(value)) value.forEach((x, i) => leaves(x, [...at, i], out));
  else if (isPlainObject(value)) for (const [k, x] of Object.entries(value)) leaves(x, [...at, k], out);
}

const dotted = (segments: Segment[]) => segments.reduce<string>((p, s) => joinPath(p, s), '');

/**
 * Render `config` (the merged config, defaults possibly filled in) with the origin of each value:
 * `origins` as the loader recorded them; `written` is the config before defaults, so that a value
 * only a default supplied is not credited to the mapping around it.
 */
export function resolvedView(config: Record<string, unknown>, origins: Origins, written: Record<string, unknown>, options: ResolvedViewOptions = {}): ResolvedView {
  const paths: Segment[][] = [];
  leaves(config, [], paths);
  const originOf = (segments: Segment[]): Origin | undefined => {
    if (getPath(written, segments.map(String)) === undefined) return undefined;
    const p = dotted(segments);
    return origins.get(p) ?? locate(origins, p)?.origin;
  };
  const doc = new Document(config);
  for (const segments of paths) {
    const node = doc.getIn(segments, true);
    if (!isNode(node)) continue;
    if (isCollection(node)) node.flow = true;
    if (options.comment) (node as Node).comment = ' ' + options.comment(originOf(segments));
  }
  if (options.header?.length) doc.commentBefore = options.header.map((l) => ' ' + l).join('\n');
  // No folding: every value stays on the line of its key, where its comment or hint goes.
  const text = doc.toString({ lineWidth: 0, flowCollectionPadding: false });
  const positions = parseConfigTextWithYaml('<resolved>', text).origins;
  const values: ResolvedValue[] = [];
  for (const segments of paths) {
    const p = dotted(segments);
    const at = positions.get(p);
    const origin = originOf(segments);
    const overridden = origin && options.overridden?.get(p);
    if (at) values.push({ path: p, range: at.value, key: at.key, origin, ...(overridden?.length ? { overridden } : {}) });
  }
  values.sort((a, b) => a.range.start.line - b.range.start.line || a.range.start.character - b.range.start.character);
  return { text, values };
}

/** How a person reads an origin: `configs/_base_/x.yaml:12:5`, `override --lr 0.1`, `default`. */
export function describeOrigin(origin: Origin | undefined, cwd: string): string {
  if (!origin) return 'default';
  if (origin.file === COMMAND_LINE) return `override ${origin.arg ?? 'on the command line'}`;
  const rel = path.relative(cwd, origin.file);
  return fileAt(rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : origin.file, origin.key ?? origin.value);
}
