/**
 * Completion in config files: `type` names valid for the slot under the cursor (a backbone slot
 * offers backbones only), the parameters of the component being edited that are not written yet
 * (inserting a snippet with the default), allowed values of enumerations, and file paths for
 * `_base_` and `custom_imports`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { z } from 'zod';
import { KIND_NAMES } from '../kinds';
import { BASE_KEY, getPath } from '../config/merge';
import { CONFIG_EXTENSIONS } from '../config/load';
import type { Position, Range } from '../problems';
import { registries } from '../registry';
import { defaultOf, descriptionOf, enumValuesOf, isOptional, shapeOf, slotKindOf, typeLabel, unwrap } from '../schema';
import { componentSummary, paramMarkdown } from './componentDocs';
import type { ConfigDocument } from './configDocument';
import { cursorContext, type CursorContext, type KeyContext, type ValueContext } from './cursor';
import type { PathSegment } from './yamlScan';
import { inlineYaml, paramSnippet, type SnippetStyle } from './yamlText';

type AnySchema = z.core.$ZodType;

export type CompletionKind = 'component' | 'property' | 'value' | 'file' | 'folder';

export interface CompletionItem {
  label: string;
  kind: CompletionKind;
  /** Short text beside the label: the type and default, the kind of component. */
  detail?: string;
  /** Markdown. */
  documentation?: string;
  insertText: string;
  /** `insertText` is a snippet (tab stops `$1`, choices `${1|a,b|}`); multi-line snippets are relative to the line's indent. */
  snippet: boolean;
  /** The text the item replaces. */
  range: Range;
  sortText?: string;
  filterText?: string;
  /** Open completion again after inserting (after `type: ` or a folder name). */
  retrigger?: boolean;
}

export const CUSTOM_IMPORT_EXTENSIONS = ['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs'];

/** Completion items at `position`; empty where the cursor is on nothing the config language knows. */
export function completions(doc: ConfigDocument, position: Position): CompletionItem[] {
  const offset = doc.index.offsetAt(position);
  const ctx = cursorContext(doc.root, doc.index, offset);
  if (!ctx) return [];
  doc.loadCustomComponents();
  if (ctx.kind === 'key') return keyCompletions(doc, ctx);
  return valueCompletions(doc, ctx);
}

function styleOf(doc: ConfigDocument, ctx: CursorContext): SnippetStyle {
  return ctx.quoted || doc.isJson ? 'json' : ctx.flow ? 'flow' : 'block';
}

/** The keys a mapping may hold: a component's parameters (with `type`), a section's fields. */
function keysAt(doc: ConfigDocument, at: PathSegment[]): { shape: Record<string, AnySchema>; owner?: string; slot?: { kind: string; typed: boolean } } | undefined {
  const slot = doc.slotAt(at);
  if (slot) {
    const shape = slot.entry ? (shapeOf(slot.entry.params) ?? {}) : {};
    return { shape, owner: slot.entry ? `${KIND_NAMES[slot.kind].one} ${slot.entry.type}` : undefined, slot: { kind: slot.kind, typed: !!slot.entry } };
  }
  const schema = doc.schemaAt(at);
  const shape = schema && shapeOf(schema);
  return shape ? { shape } : undefined;
}

function keyCompletions(doc: ConfigDocument, ctx: KeyContext): CompletionItem[] {
  const keys = keysAt(doc, ctx.path);
  if (!keys) return [];
  const used = new Set((ctx.container?.pairs ?? []).filter((p) => p !== ctx.pair && p.colon !== undefined).map((p) => p.key));
  // On an existing `key: value`, only the name is replaced.
  const nameOnly = ctx.pair?.colon !== undefined;
  // A quoted key being typed (`"de` in JSON) is replaced with its quotes by `"depth": ...`.
  const withQuotes = ctx.quoted && !nameOnly && ctx.pair !== undefined;
  const range = withQuotes ? doc.range(ctx.pair!.keyStart, ctx.pair!.keyEnd) : doc.range(ctx.replaceStart, ctx.replaceEnd);
  const filter = (key: string) => (withQuotes ? `"${key}"` : undefined);
  const style = styleOf(doc, ctx);
  const items: CompletionItem[] = [];
  // A `type` inherited from a base file is rarely what one wants to change while adding parameters.
  if (keys.slot && !keys.slot.typed && !used.has('type')) {
    const kind = keys.slot.kind as keyof typeof KIND_NAMES;
    items.push({
      label: 'type',
      kind: 'property',
      detail: `which ${KIND_NAMES[kind].one}`,
      documentation: `The registered ${KIND_NAMES[kind].one} this mapping configures: ${registries[kind].names().map((n) => '`' + n + '`').join(', ') || '(none registered yet)'}`,
      insertText: nameOnly ? 'type' : style === 'json' ? '"type": "$1"' : 'type: $1',
      snippet: !nameOnly,
      range,
      filterText: filter('type'),
      sortText: '0',
      retrigger: !nameOnly,
    });
  }
  let order = 0;
  for (const [key, schema] of Object.entries(keys.shape)) {
    order++;
    if (used.has(key) || (key === BASE_KEY && ctx.path.length)) continue;
    const d = defaultOf(schema);
    const required = !isOptional(schema);
    const snippet = nameOnly ? { text: key, retrigger: false } : paramSnippet(key, schema, style);
    const inherited = getPath(doc.inherited.value, [...ctx.path, key].map(String));
    items.push({
      label: key,
      kind: 'property',
      detail: `${typeLabel(schema)}${inherited !== undefined ? ` (inherited: ${short(inlineYaml(inherited))})` : d ? ` = ${short(inlineYaml(d.value))}` : required ? ' (required)' : ''}`,
      documentation: paramMarkdown(key, schema, keys.owner),
      insertText: snippet.text,
      snippet: !nameOnly,
      range,
      filterText: filter(key),
      // Required parameters first, then the schema's own order.
      sortText: `${required ? 1 : 2}${String(order).padStart(3, '0')}`,
      retrigger: snippet.retrigger,
    });
  }
  return items;
}

/** Details stay on one short line. */
function short(text: string): string {
  return text.length > 40 ? text.slice(0, 37) + '...' : text;
}

function valueCompletions(doc: ConfigDocument, ctx: ValueContext): CompletionItem[] {
  const p = ctx.path;
  const last = p[p.length - 1];
  const range = doc.range(ctx.replaceStart, ctx.replaceEnd);
  if (last === 'type' && p.length >= 1) return typeCompletions(doc, p.slice(0, -1), ctx, range);
  if ((p.length === 1 && p[0] === BASE_KEY) || (p.length === 2 && p[0] === BASE_KEY && typeof p[1] === 'number')) {
    return fileCompletions(doc, ctx, CONFIG_EXTENSIONS);
  }
  if (p.length === 2 && p[0] === 'custom_imports') return fileCompletions(doc, ctx, CUSTOM_IMPORT_EXTENSIONS);
  const schema = doc.schemaAt(p);
  if (!schema) return [];
  // A new list item where the list holds mappings: `- ` starts the mapping's first key.
  if (ctx.seq && !ctx.node && !ctx.seq.flow && (slotKindOf(schema) || unwrap(schema)._zod.def.type === 'object')) {
    return keyCompletions(doc, { kind: 'key', path: p, prefix: '', replaceStart: ctx.replaceStart, replaceEnd: ctx.replaceEnd, flow: false, quoted: false });
  }
  const values = enumValuesOf(schema) ?? (unwrap(schema)._zod.def.type === 'boolean' ? [true, false] : undefined);
  if (!values) return [];
  const d = defaultOf(schema);
  const description = descriptionOf(schema);
  return values.map((v, i) => ({
    label: typeof v === 'string' ? v : JSON.stringify(v),
    kind: 'value' as const,
    detail: d && d.value === v ? 'default' : undefined,
    documentation: description,
    insertText: ctx.quoted ? String(v) : inlineYaml(v, doc.isJson),
    snippet: false,
    range,
    sortText: String(i).padStart(3, '0'),
  }));
}

function typeCompletions(doc: ConfigDocument, at: PathSegment[], ctx: ValueContext, range: Range): CompletionItem[] {
  const schema = doc.schemaAt(at);
  const kind = schema && slotKindOf(schema);
  if (!kind) return [];
  return registries[kind].entries().map((entry) => ({
    label: entry.type,
    kind: 'component' as const,
    detail: `${KIND_NAMES[kind].one}${entry.builtin ? '' : ' (custom)'}`,
    documentation: componentSummary(entry),
    insertText: ctx.quoted || !doc.isJson ? entry.type : JSON.stringify(entry.type),
    snippet: false,
    range,
  }));
}

/** Files and folders next to the document, for `_base_` and `custom_imports` values. */
function fileCompletions(doc: ConfigDocument, ctx: ValueContext, extensions: string[]): CompletionItem[] {
  const typed = ctx.prefix;
  const slash = typed.lastIndexOf('/');
  const dirPart = slash >= 0 ? typed.slice(0, slash + 1) : '';
  const dir = path.resolve(doc.dir, dirPart || '.');
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  // Replace only the last path segment, so completion of `../_base_/mo` keeps `../_base_/`.
  const range = doc.range(ctx.replaceStart + dirPart.length, ctx.replaceEnd);
  const items: CompletionItem[] = [];
  if (dirPart === '' || /(^|\/)\.\.\/$/.test(dirPart)) {
    items.push({ label: '../', kind: 'folder', insertText: '../', snippet: false, range, sortText: '2', retrigger: true });
  }
  for (const e of entries) {
    if (e.name.startsWith('.') || e.name === 'node_modules') continue;
    const full = path.join(dir, e.name);
    if (e.isDirectory()) {
      items.push({ label: e.name + '/', kind: 'folder', insertText: e.name + '/', snippet: false, range, sortText: '1' + e.name, retrigger: true });
    } else if (extensions.includes(path.extname(e.name)) && full !== doc.file) {
      items.push({ label: e.name, kind: 'file', detail: path.relative(doc.dir, full), insertText: e.name, snippet: false, range, sortText: '0' + e.name });
    }
  }
  return items;
}
