/**
 * Hover in config files: over a `type` name, the component (what it is, its parameters, the paper
 * it follows); over a parameter, its type, default, range and description; over a key that
 * overrides or inherits values of a `_base_` file, which file set what.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BASE_KEY, getPath } from '../config/merge';
import { KIND_NAMES } from '../kinds';
import type { Position, Range } from '../problems';
import { allComponents, findComponent, registries } from '../registry';
import { descriptionOf, isPlainObject } from '../schema';
import { componentMarkdown, paramMarkdown } from './componentDocs';
import type { ConfigDocument } from './configDocument';
import { tokenAt } from './cursor';
import { nodeAt, type PathSegment } from './yamlScan';
import { inlineYaml } from './yamlText';
import { codeSpan } from '../markdown';

export interface HoverResult {
  /** Markdown. */
  markdown: string;
  /** The word hovered. */
  range: Range;
}

export function hover(doc: ConfigDocument, position: Position): HoverResult | undefined {
  const ctx = tokenAt(doc.root, doc.index, doc.index.offsetAt(position));
  if (!ctx) return undefined;
  doc.loadCustomComponents();
  if (ctx.kind === 'value') {
    const node = ctx.node!;
    const range = doc.range(node.start, node.end);
    const markdown = valueHover(doc, ctx.path, node.value);
    return markdown ? { markdown, range } : undefined;
  }
  const pair = ctx.pair!;
  const at = [...ctx.path, pair.key];
  const parts = [keyHover(doc, ctx.path, pair.key), inheritance(doc, at)].filter((s): s is string => !!s);
  return parts.length ? { markdown: parts.join('\n\n---\n\n'), range: doc.range(pair.keyStart, pair.keyEnd) } : undefined;
}

function valueHover(doc: ConfigDocument, at: PathSegment[], value: unknown): string | undefined {
  const last = at[at.length - 1];
  if (last === 'type' && typeof value === 'string') {
    const slot = doc.slotAt(at.slice(0, -1));
    const entry = slot ? registries[slot.kind].get(value) : findComponent(value);
    return entry ? componentMarkdown(entry) : undefined;
  }
  if (at[0] === BASE_KEY && typeof value === 'string') {
    const file = path.resolve(doc.dir, value);
    const stat = fs.statSync(file, { throwIfNoEntry: false });
    return stat?.isFile() ? `Inherits from ${codeSpan(file)}` : stat ? `${codeSpan(file)} is not a file` : `${codeSpan(file)} does not exist`;
  }
  if (at[0] === 'custom_imports' && at.length === 2 && typeof value === 'string') {
    const file = path.resolve(doc.dir, value);
    const registered = allComponents().filter((c) => c.sourceFile === file);
    const list = registered.map((c) => `${codeSpan(c.type)} (${KIND_NAMES[c.kind].one})`).join(', ');
    return `Custom module ${codeSpan(file)}${registered.length ? `, registering ${list}` : ''}`;
  }
  // Elsewhere a value explains itself through its key.
  return typeof at[at.length - 1] === 'string' ? keyHover(doc, at.slice(0, -1), String(last)) : undefined;
}

function keyHover(doc: ConfigDocument, parent: PathSegment[], key: string): string | undefined {
  const slot = doc.slotAt(parent);
  if (key === 'type' && slot) {
    const names = registries[slot.kind].names();
    return `**type** — which ${KIND_NAMES[slot.kind].one}: ${names.map(codeSpan).join(', ') || '(none registered yet)'}`;
  }
  const schema = doc.schemaAt([...parent, key]);
  if (!schema) return undefined;
  if (parent.length === 0) {
    const description = descriptionOf(schema);
    return `**${key}** — top-level section${description ? `\n\n${description}` : ''}`;
  }
  const owner = slot?.entry ? `${KIND_NAMES[slot.kind].one} \`${slot.entry.type}\`` : undefined;
  return paramMarkdown(key, schema, owner);
}

/** Which `_base_` file set what, under a key of this document. */
function inheritance(doc: ConfigDocument, at: PathSegment[]): string | undefined {
  const { value, origins } = doc.inherited;
  const dotted = at.join('.');
  const baseValue = getPath(value, at.map(String));
  if (baseValue === undefined) return undefined;
  const where = (p: string) => {
    const o = origins.get(p);
    return o ? `${path.relative(doc.dir, o.file) || path.basename(o.file)}:${(o.key ?? o.value).start.line + 1}` : 'a base file';
  };
  const local = nodeAt(doc.root, at);
  if (isPlainObject(baseValue) && local?.kind === 'map') {
    const deleted = local.pairs.some((p) => p.key === '_delete_' && p.value?.kind === 'scalar' && p.value.value === true);
    if (deleted) return `Replaces the mapping inherited from ${codeSpan(where(dotted))} (\`_delete_: true\`)`;
    const written = new Set(local.pairs.map((p) => p.key));
    const inherited = Object.entries(baseValue).filter(([k]) => !written.has(k));
    const overridden = Object.keys(baseValue).filter((k) => written.has(k));
    if (!inherited.length && !overridden.length) return undefined;
    const lines: string[] = [];
    if (inherited.length) {
      lines.push('**Inherited here:**', '');
      for (const [k, v] of inherited.slice(0, 20)) lines.push(`- ${codeSpan(`${k}: ${short(v)}`)} — ${codeSpan(where(`${dotted}.${k}`))}`);
      if (inherited.length > 20) lines.push(`- ... and ${inherited.length - 20} more`);
    }
    if (overridden.length) lines.push('', `Overrides ${overridden.map(codeSpan).join(', ')} of ${codeSpan(where(dotted))}`);
    return lines.join('\n');
  }
  return `Overrides ${codeSpan(short(baseValue))} set in ${codeSpan(where(dotted))}`;
}

function short(v: unknown): string {
  const s = inlineYaml(v);
  return s.length > 60 ? s.slice(0, 57) + '...' : s;
}
