import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import { checkConfig } from '../../src/core/check';
import { ConfigDocument } from '../../src/core/language/configDocument';
import { quickFixes } from '../../src/core/language/quickFixes';
import { applyEdits, registerTestComponents, yaml } from './fixtures';
import { tempFiles } from '../helpers/tmp';

let unregister: () => void;
beforeAll(() => {
  unregister = registerTestComponents();
});
afterAll(() => unregister());

const t = tempFiles({});
afterAll(() => t.cleanup());

/** Write `text` as a config, validate it, and return the fixes of its problems. */
function fixes(text: string, name = 'cfg.yaml') {
  const file = t.file(name);
  fs.writeFileSync(file, text);
  const { problems } = checkConfig(file);
  return { file, problems, fixes: quickFixes(new ConfigDocument(file, text), problems) };
}

/** Apply a fix and validate again. */
function after(file: string, text: string, edits: Parameters<typeof applyEdits>[1]) {
  const fixed = applyEdits(text, edits);
  fs.writeFileSync(file, fixed);
  return { fixed, problems: checkConfig(file).problems };
}

const HEAD = '  head: {type: ClsHead, num_classes: 10}';

describe('quick fixes', () => {
  it('replaces a misspelt backbone with the suggestion, and the problem is gone', () => {
    const text = yaml('model:', '  type: Classification', '  backbone:', '    type: ResNte', '    depth: 18', HEAD);
    const r = fixes(text);
    expect(r.problems.map((p) => p.code)).toEqual(['unknown-type']);
    const fix = r.fixes.find((f) => f.preferred)!;
    expect(fix.title).toBe('Change to "ResNet"');
    expect(fix.edits).toEqual([{ range: { start: { line: 3, character: 10 }, end: { line: 3, character: 16 } }, newText: 'ResNet' }]);
    const { fixed, problems } = after(r.file, text, fix.edits);
    expect(fixed).toContain('    type: ResNet\n');
    expect(problems).toEqual([]);
  });

  it('keeps quotes around a replaced name', () => {
    const text = yaml('model:', '  type: Classification', '  backbone: {type: "ResNte"}', HEAD);
    const r = fixes(text);
    const { fixed, problems } = after(r.file, text, r.fixes.find((f) => f.preferred)!.edits);
    expect(fixed).toContain('backbone: {type: "ResNet"}');
    expect(problems).toEqual([]);
  });

  it('renames an unknown key to the nearest parameter', () => {
    const text = yaml('model:', '  type: Classification', '  backbone: {type: ResNet}', '  head:', '    type: ClsHead', '    num_classes: 3', '    dropuot: 0.5');
    const r = fixes(text);
    const rename = r.fixes.find((f) => f.title === 'Rename to "dropout"')!;
    expect(rename.preferred).toBe(true);
    expect(rename.edits[0].range).toEqual({ start: { line: 6, character: 4 }, end: { line: 6, character: 11 } });
    const { fixed, problems } = after(r.file, text, rename.edits);
    expect(fixed).toContain('    dropout: 0.5\n');
    expect(problems).toEqual([]);
  });

  it('offers no rename to a key the mapping already has (it would write the key twice); only removal', () => {
    const text = yaml('model:', '  type: Classification', '  backbone: {type: ResNet}', '  head:', '    type: ClsHead', '    dropout: 0.1', '    dropuot: 0.5');
    const r = fixes(text);
    expect(r.problems.map((p) => p.suggestions)).toEqual([['dropout']]);
    expect(r.fixes.map((f) => f.title)).toEqual(['Remove "dropuot"']);
  });

  it('removes an unknown key with its whole block', () => {
    const text = yaml('model:', '  type: Classification', '  backbone:', '    type: ResNet', '    extra:', '      a: 1', '      b: [1, 2]', '    depth: 34', HEAD);
    const r = fixes(text);
    const remove = r.fixes.find((f) => f.title === 'Remove "extra"')!;
    const { fixed, problems } = after(r.file, text, remove.edits);
    expect(fixed).toBe(yaml('model:', '  type: Classification', '  backbone:', '    type: ResNet', '    depth: 34', HEAD));
    expect(problems).toEqual([]);
  });

  it('removes an unknown key from a flow mapping with its comma, and from a list item after its dash', () => {
    const flow = yaml('model:', '  type: Classification', '  backbone: {type: ResNet, colour: red, depth: 18}', HEAD);
    const r1 = fixes(flow);
    expect(after(r1.file, flow, r1.fixes.find((f) => f.title === 'Remove "colour"')!.edits).fixed).toContain('backbone: {type: ResNet, depth: 18}');
    const last = yaml('model:', '  type: Classification', '  backbone: {type: ResNet, colour: red}', HEAD);
    const r2 = fixes(last);
    expect(after(r2.file, last, r2.fixes.find((f) => f.title === 'Remove "colour"')!.edits).fixed).toContain('backbone: {type: ResNet}');
    const item = yaml('hooks:', '  - colour: red', '    type: TestHook');
    const r3 = fixes(item);
    const { fixed, problems } = after(r3.file, item, r3.fixes.find((f) => f.title === 'Remove "colour"')!.edits);
    expect(fixed).toBe(yaml('hooks:', '  - type: TestHook'));
    expect(problems).toEqual([]);
  });

  it('adds missing required parameters with example values in block and flow mappings', () => {
    const text = yaml('model:', '  type: Classification', '  backbone: {type: ResNet}', '  head:', '    type: TestHead', '    hidden: 64');
    const r = fixes(text);
    const add = r.fixes.find((f) => f.title.startsWith('Add missing'))!;
    expect(add.title).toBe('Add missing parameter "in_channels"');
    const { fixed, problems } = after(r.file, text, add.edits);
    expect(fixed).toBe(yaml('model:', '  type: Classification', '  backbone: {type: ResNet}', '  head:', '    type: TestHead', '    hidden: 64', '    in_channels: 1'));
    expect(problems).toEqual([]);

    const flow = yaml('model:', '  type: Classification', '  backbone: {type: ResNet}', '  head: {type: TestHead}');
    const r2 = fixes(flow);
    const f2 = after(r2.file, flow, r2.fixes.find((f) => f.title.startsWith('Add missing'))!.edits);
    expect(f2.fixed).toContain('  head: {type: TestHead, in_channels: 1}');
    expect(f2.problems).toEqual([]);
  });

  it('adds a missing component slot with a type and its required parameters', () => {
    const text = yaml('model:', '  type: Classification', '  backbone: {type: ResNet}');
    const r = fixes(text);
    const add = r.fixes.find((f) => f.title === 'Add missing parameter "head"')!;
    const { fixed } = after(r.file, text, add.edits);
    // The first registered head, with its own required parameters.
    expect(fixed).toMatch(/\n {2}head:\n {4}type: \w+\n/);
    expect(fixed.endsWith('\n')).toBe(true);
  });

  it('adds a missing type', () => {
    const text = yaml('model:', '  type: Classification', '  backbone:', '    depth: 18', HEAD);
    const r = fixes(text);
    const add = r.fixes.find((f) => f.title === 'Add "type: ResNet"')!;
    const { fixed, problems } = after(r.file, text, add.edits);
    expect(fixed).toContain('  backbone:\n    type: ResNet\n    depth: 18\n');
    expect(problems).toEqual([]);
    // A slot left empty (`backbone:`) gets the same fix.
    const blank = yaml('model:', '  type: Classification', '  backbone:', HEAD);
    const b = fixes(blank);
    const fill = b.fixes.find((f) => f.title === 'Add "type: ResNet"')!;
    const filled = after(b.file, blank, fill.edits);
    expect(filled.fixed).toContain('  backbone:\n    type: ResNet\n');
    expect(filled.problems).toEqual([]);
  });

  it('uses JSON syntax in JSON configs', () => {
    const text = '{"model": {"type": "Classification", "backbone": {"type": "ResNte"}, "head": {"type": "TestHead"}}}\n';
    const r = fixes(text, 'cfg.json');
    const edits = [r.fixes.find((f) => f.title === 'Change to "ResNet"')!, r.fixes.find((f) => f.title.startsWith('Add missing'))!].flatMap((f) => f.edits);
    const { fixed, problems } = after(r.file, text, edits);
    expect(JSON.parse(fixed)).toEqual({ model: { type: 'Classification', backbone: { type: 'ResNet' }, head: { type: 'TestHead', in_channels: 1 } } });
    expect(problems).toEqual([]);
  });
});
