/**
 * Markdown documentation of components and parameters, generated from the registry: the text of
 * hovers, of completion details, and of the read-only `cvw-doc:` pages that "go to definition"
 * opens for built-in components.
 */
import * as path from 'node:path';
import type { z } from 'zod';
import { KIND_NAMES, type ComponentKind } from '../kinds';
import { registries, type RegisteredComponent } from '../registry';
import { defaultOf, descriptionOf, isOptional, shapeOf, slotKindOf, typeLabel } from '../schema';
import { blockYamlLines, exampleValue, inlineYaml } from './yamlText';

type AnySchema = z.core.$ZodType;

/** Markdown table cells cannot hold `|` or line breaks. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function code(text: string): string {
  return '`' + text.replace(/`/g, "'") + '`';
}

export interface ParamDoc {
  name: string;
  type: string;
  required: boolean;
  default?: string;
  description?: string;
}

export function paramDocs(entry: RegisteredComponent): ParamDoc[] {
  return Object.entries(shapeOf(entry.params) ?? {}).map(([name, s]) => paramDoc(name, s));
}

export function paramDoc(name: string, schema: AnySchema): ParamDoc {
  const d = defaultOf(schema);
  return {
    name,
    type: typeLabel(schema),
    required: !isOptional(schema),
    default: d ? inlineYaml(d.value) : undefined,
    description: descriptionOf(schema),
  };
}

/** `**depth** — 18 | 34 | 50, default 18` plus its description: hover text of one parameter. */
export function paramMarkdown(name: string, schema: AnySchema, owner?: string): string {
  const p = paramDoc(name, schema);
  const head = [`**${name}**`, code(p.type)];
  if (p.default !== undefined) head.push(`default ${code(p.default)}`);
  else if (p.required) head.push('*required*');
  const lines = [head.join(' · ')];
  if (p.description) lines.push('', p.description);
  const slot = slotKindOf(schema);
  if (slot) lines.push('', `Takes ${KIND_NAMES[slot].many}: ${registries[slot].names().map(code).join(', ') || '(none registered yet)'}`);
  if (owner) lines.push('', `*Parameter of ${owner}*`);
  return lines.join('\n');
}

function sourceLine(entry: RegisteredComponent): string | undefined {
  if (entry.builtin) return undefined;
  return entry.sourceFile ? `Defined in ${code(path.basename(entry.sourceFile))} (custom_imports)` : 'Defined by a custom import';
}

/** Hover text of a component: what it is, its paper, its parameters. */
export function componentMarkdown(entry: RegisteredComponent): string {
  const lines = [`**${entry.type}** — ${KIND_NAMES[entry.kind].one}`, '', entry.description];
  if (entry.paper) lines.push('', `*Follows:* ${entry.paper}`);
  const params = paramDocs(entry);
  if (params.length) {
    lines.push('', '| parameter | type | default | |', '|---|---|---|---|');
    for (const p of params) lines.push(`| ${code(p.name)} | ${cell(p.type)} | ${p.default !== undefined ? cell(code(p.default)) : p.required ? '*required*' : ''} | ${cell(p.description ?? '')} |`);
  }
  const src = sourceLine(entry);
  if (src) lines.push('', src);
  return lines.join('\n');
}

/** One line for completion lists: the description, then the paper. */
export function componentSummary(entry: RegisteredComponent): string {
  return entry.paper ? `${entry.description}\n\n*Follows:* ${entry.paper}` : entry.description;
}

/** The whole documentation page of a component (`cvw-doc:` documents). */
export function componentPage(kind: ComponentKind, type: string): string {
  const entry = registries[kind].get(type);
  if (!entry) return `# ${type}\n\nNo ${KIND_NAMES[kind].one} named "${type}" is registered (any more).\n`;
  const lines = [`# ${entry.type}`, '', `*${KIND_NAMES[kind].one}* · ${entry.builtin ? 'built in' : 'custom'}`, '', entry.description, ''];
  if (entry.paper) lines.push(`**Follows:** ${entry.paper}`, '');
  lines.push('## Parameters', '');
  const params = paramDocs(entry);
  if (!params.length) lines.push('None besides `type`.', '');
  for (const p of params) {
    const bits = [code(p.type), p.default !== undefined ? `default ${code(p.default)}` : p.required ? '**required**' : 'optional'];
    lines.push(`- ${code(p.name)} — ${bits.join(', ')}${p.description ? `: ${p.description}` : ''}`);
  }
  lines.push('', '## Example', '', '```yaml');
  const example: Record<string, unknown> = {};
  for (const [k, s] of Object.entries(shapeOf(entry.params) ?? {})) if (!isOptional(s) || defaultOf(s)) example[k] = exampleValue(s);
  lines.push(...blockYamlLines(kind, { type: entry.type, ...example }, ''));
  lines.push('```', '');
  const src = sourceLine(entry);
  if (src) lines.push(src, '');
  return lines.join('\n');
}
