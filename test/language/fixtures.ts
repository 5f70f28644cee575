/**
 * Test components for the language tests: more than one per slot, so that "a backbone slot offers
 * backbones only" means something. Registered by `registerTestComponents()`, removed by its result.
 */
import { z } from 'zod';
// The API (not just the built-ins) so that custom modules' `import ... from 'cv-workbench'` share this registry.
import '../../src/api';
import { registries } from '../../src/core/registry';
import { slot } from '../../src/core/schema';
import type { ComponentKind } from '../../src/core/kinds';
import type { Position } from '../../src/core/problems';

const TEST_COMPONENTS: Array<[ComponentKind, string, z.ZodObject<z.ZodRawShape>, string]> = [
  ['backbone', 'TestNet', z.strictObject({ width: z.number().int().min(1).default(8).describe('Channels of the first layer'), act: z.enum(['relu', 'gelu']).default('relu').describe('Activation') }), 'A two-layer test backbone'],
  ['neck', 'TestNeck', z.strictObject({ out_channels: z.number().int().min(1).describe('Output channels') }), 'A linear test neck'],
  ['head', 'TestHead', z.strictObject({ in_channels: z.number().int().min(1).describe('Input channels'), hidden: z.number().int().min(1).default(128) }), 'A test MLP head'],
  ['hook', 'TestHook', z.strictObject({ every: z.number().int().min(1).default(10).describe('Iterations between lines') }), 'A test hook'],
  ['pipeline', 'TestFlip', z.strictObject({ p: z.number().min(0).max(1).default(0.5).describe('Probability') }), 'A test flip'],
  ['pipeline', 'TestResize', z.strictObject({ size: z.number().int().min(1).describe('Side in pixels') }), 'A test resize'],
  [
    'dataset',
    'TestDataset',
    z.strictObject({ root: z.string().describe('Folder of images'), pipeline: z.array(slot('pipeline')).default([]).describe('Augmentations'), batch_size: z.number().int().min(1).default(64) }),
    'A test dataset',
  ],
];

export function registerTestComponents(): () => void {
  for (const [kind, type, params, description] of TEST_COMPONENTS) registries[kind].register({ type, description, params }, { builtin: true });
  return () => {
    for (const [kind, type] of TEST_COMPONENTS) registries[kind].unregister(type);
  };
}

/** A document written with `<|>` where the cursor is: the text without it, and the position. */
export function withCursor(source: string): { text: string; position: Position; offset: number } {
  const offset = source.indexOf('<|>');
  if (offset < 0) throw new Error('no <|> cursor in the test document');
  const text = source.slice(0, offset) + source.slice(offset + 3);
  const before = text.slice(0, offset).split('\n');
  return { text, offset, position: { line: before.length - 1, character: before[before.length - 1].length } };
}

/** Lines joined with line feeds, ending with one. */
export function yaml(...lines: string[]): string {
  return lines.join('\n') + '\n';
}

/** Apply LSP-style text edits (non-overlapping) to a text. */
export function applyEdits(text: string, edits: Array<{ range: { start: Position; end: Position }; newText: string }>): string {
  const lines = text.split('\n');
  const offset = (p: Position) => lines.slice(0, p.line).reduce((n, l) => n + l.length + 1, 0) + p.character;
  const sorted = [...edits].sort((a, b) => offset(b.range.start) - offset(a.range.start));
  let out = text;
  for (const e of sorted) out = out.slice(0, offset(e.range.start)) + e.newText + out.slice(offset(e.range.end));
  return out;
}
