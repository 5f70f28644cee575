/**
 * Go to definition: from a `_base_` path to that file, from a `custom_imports` entry to the module,
 * and from a `type` name to where the component is defined — the `register(...)` call of a custom
 * component, or for built-ins a generated documentation page (the editor shows it read-only).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BASE_KEY } from '../config/merge';
import type { ComponentKind } from '../kinds';
import { ZERO_RANGE, type Position, type Range } from '../problems';
import { findComponent, registries, type RegisteredComponent } from '../registry';
import type { ConfigDocument } from './configDocument';
import { tokenAt } from './cursor';
import { TextIndex } from './textIndex';

export type DefinitionTarget =
  | { kind: 'file'; file: string; range: Range }
  /** A built-in component: its documentation page (`componentPage`). */
  | { kind: 'doc'; componentKind: ComponentKind; type: string };

export interface Definition {
  /** The word the definition was asked for. */
  origin: Range;
  target: DefinitionTarget;
}

export function definition(doc: ConfigDocument, position: Position): Definition | undefined {
  const ctx = tokenAt(doc.root, doc.index, doc.index.offsetAt(position));
  if (!ctx || ctx.kind !== 'value' || !ctx.node) return undefined;
  const value = ctx.node.value;
  if (typeof value !== 'string' || value === '') return undefined;
  const origin = doc.range(ctx.node.start, ctx.node.end);
  const p = ctx.path;
  const isBase = p[0] === BASE_KEY && (p.length === 1 || (p.length === 2 && typeof p[1] === 'number'));
  const isImport = p[0] === 'custom_imports' && p.length === 2;
  if (isBase || isImport) {
    const file = path.resolve(doc.dir, value);
    // A folder is no definition (the validator says so); an editor would open it as a file.
    return fs.statSync(file, { throwIfNoEntry: false })?.isFile() ? { origin, target: { kind: 'file', file, range: ZERO_RANGE } } : undefined;
  }
  if (p[p.length - 1] !== 'type') return undefined;
  doc.loadCustomComponents();
  const slot = doc.slotAt(p.slice(0, -1));
  const entry = slot ? registries[slot.kind].get(value) : findComponent(value);
  if (!entry) return undefined;
  if (!entry.builtin && entry.sourceFile) return { origin, target: { kind: 'file', file: entry.sourceFile, range: registrationRange(entry) } };
  return { origin, target: { kind: 'doc', componentKind: entry.kind, type: entry.type } };
}

/** Where a custom module names the component: its `type: 'Name'`, else the first mention of the name. */
export function registrationRange(entry: RegisteredComponent): Range {
  let text: string;
  try {
    text = fs.readFileSync(entry.sourceFile!, 'utf8');
  } catch {
    return ZERO_RANGE;
  }
  const name = entry.type;
  const m = new RegExp(`type\\s*:\\s*(['"\`])${name}\\1`).exec(text) ?? new RegExp(`(['"\`])${name}\\1`).exec(text);
  if (!m) return ZERO_RANGE;
  const start = m.index + m[0].lastIndexOf(name);
  return new TextIndex(text).range(start, start + name.length);
}
