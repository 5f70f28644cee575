/**
 * Templates: one complete, validated config per task and algorithm (templates/<Model type>.yaml),
 * plus recipes on top of a model type (templates/FineTune.yaml: Classification from pretrained
 * weights), so `cvw train --model-type SimCLR --data.train.source.root ./my_images` trains with no
 * config file, `cvw init SimCLR` writes a commented starter config to edit, and the editor's New
 * Experiment from Template offers each of them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Document, isMap, isPair, isScalar, isSeq, type Node, type Pair } from 'yaml';
import { packageRoot } from '../core/packageInfo';
import { UserError } from '../core/problems';
import { closestNames, didYouMean } from '../core/suggest';
import { schemaAt } from '../core/config/overrides';
import { descriptionOf, isPlainObject, slotKindOf } from '../core/schema';
import { registries } from '../core/registry';

export function templatesDir(): string {
  return path.join(packageRoot(), 'templates');
}

/** Template names (the model types they train), sorted. */
export function listTemplates(): string[] {
  if (!fs.existsSync(templatesDir())) return [];
  return fs
    .readdirSync(templatesDir())
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.slice(0, -5))
    .sort();
}

/** The template file of a model type, or an error listing the templates there are. */
export function templateFile(name: string): string {
  const names = listTemplates();
  const exact = names.find((n) => n === name) ?? names.find((n) => n.toLowerCase() === name.toLowerCase());
  if (!exact) throw new UserError(`no template "${name}"${didYouMean(closestNames(name, names))} (templates: ${names.join(', ')})`);
  return path.join(templatesDir(), `${exact}.yaml`);
}

/** The first comment lines of a template: what it is for. */
export function templateSummary(name: string): string {
  const text = fs.readFileSync(templateFile(name), 'utf8');
  const first = text.split('\n').find((l) => l.startsWith('#'));
  return first ? first.replace(/^#\s*/, '') : '';
}

/**
 * A config as YAML with the schema's one-line description above each key and the component's
 * description beside each `type`, for people to edit.
 */
export function commentedYaml(config: Record<string, unknown>, header: string[]): string {
  const doc = new Document(config);
  annotate(doc.contents as Node, [], config);
  doc.commentBefore = header.map((l) => ` ${l}`).join('\n');
  return doc.toString({ lineWidth: 0 });
}

function annotate(node: Node, at: string[], config: Record<string, unknown>): void {
  if (isMap(node)) {
    const value = at.length ? getIn(config, at) : config;
    const kind = at.length ? slotKindAt(config, at) : undefined;
    for (const item of node.items) {
      if (!isPair(item) || !isScalar(item.key)) continue;
      const pair = item as Pair<Node, Node>;
      const key = String((pair.key as { value: unknown }).value);
      const keyPath = [...at, key];
      if (key === 'type' && kind && isPlainObject(value) && typeof value.type === 'string') {
        const entry = registries[kind].get(value.type);
        if (entry && pair.value) pair.value.comment = ` ${entry.description}`;
      } else {
        const schema = schemaAt(config, keyPath);
        const description = schema ? descriptionOf(schema) : undefined;
        if (description) pair.key.commentBefore = ` ${description}`;
      }
      if (pair.value) annotate(pair.value, keyPath, config);
    }
  } else if (isSeq(node)) {
    if (node.items.every((i) => isScalar(i))) node.flow = true;
    else node.items.forEach((item, i) => annotate(item as Node, [...at, String(i)], config));
  }
}

function getIn(v: unknown, at: string[]): unknown {
  let cur = v;
  for (const k of at) cur = Array.isArray(cur) ? cur[Number(k)] : isPlainObject(cur) ? cur[k] : undefined;
  return cur;
}

function slotKindAt(config: Record<string, unknown>, at: string[]) {
  const s = schemaAt(config, at);
  return s ? slotKindOf(s) : undefined;
}
