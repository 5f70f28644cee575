import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigDocument } from '../../src/core/language/configDocument';
import { completions } from '../../src/core/language/completion';
import { registries, unregisterFile } from '../../src/core/registry';
import type { ComponentKind } from '../../src/core/kinds';
import { registerTestComponents, withCursor, yaml } from './fixtures';
import { tempFiles } from '../helpers/tmp';

let unregister: () => void;
beforeAll(() => {
  unregister = registerTestComponents();
});
afterAll(() => unregister());

function complete(source: string, file = '/w/configs/a.yaml') {
  const { text, position } = withCursor(source);
  return completions(new ConfigDocument(file, text), position);
}

const labels = (items: { label: string }[]) => items.map((i) => i.label).sort();
/** Every registered name of a kind: more components land over time, so lists are compared with the registry. */
const names = (kind: ComponentKind) => registries[kind].names();

describe('completion of type names', () => {
  it('offers only backbones in a backbone slot', () => {
    const items = complete(yaml('model:', '  type: Classification', '  backbone:', '    type: <|>'));
    expect(labels(items)).toEqual(names('backbone'));
    expect(labels(items)).toEqual(expect.arrayContaining(['ResNet', 'TestNet']));
    expect(labels(items).filter((n) => !registries.backbone.has(n))).toEqual([]);
    expect(items.every((i) => i.kind === 'component')).toBe(true);
    expect(items.find((i) => i.label === 'ResNet')!.documentation).toContain('He et al.');
  });

  it('offers the registered losses in a loss slot, then the chosen loss\'s parameters', () => {
    const items = complete(yaml('model:', '  type: Classification', '  head:', '    type: ClsHead', '    loss:', '      type: <|>'));
    expect(labels(items)).toEqual(names('loss'));
    expect(labels(items)).toEqual(expect.arrayContaining(['CrossEntropyLoss', 'FocalLoss', 'NTXentLoss', 'DINOLoss']));
    expect(items.find((i) => i.label === 'FocalLoss')!.documentation).toContain('Lin et al.');
    expect(labels(complete(yaml('model:', '  type: SimCLR', '  loss: {type: <|>}')))).toEqual(names('loss'));
    const params = complete(yaml('model:', '  type: Classification', '  head:', '    type: ClsHead', '    loss:', '      type: FocalLoss', '      <|>'));
    expect(labels(params)).toEqual(['alpha', 'gamma', 'loss_weight', 'use_sigmoid']);
  });

  it('works on a partly typed name and replaces the whole word', () => {
    const { text, position } = withCursor(yaml('model:', '  type: Classification', '  head:', '    type: TestH<|>d', '    num_classes: 3'));
    const items = completions(new ConfigDocument('/w/a.yaml', text), position);
    expect(labels(items)).toEqual(names('head'));
    expect(items[0].range).toEqual({ start: { line: 3, character: 10 }, end: { line: 3, character: 16 } });
  });

  it('offers models at the top-level model key, in flow mappings too', () => {
    expect(labels(complete(yaml('model: {type: <|>}')))).toEqual(names('model'));
    expect(labels(complete(yaml('model:', '  type: Classification', '  neck: {type: Te<|>')))).toEqual(names('neck'));
  });

  it('offers pipeline steps inside a list item', () => {
    const doc = yaml('data:', '  train:', '    type: TestDataset', '    root: x', '    pipeline:', '      - type: TestResize', '        size: 3', '      - type: <|>');
    expect(labels(complete(doc))).toEqual(names('pipeline'));
    expect(labels(complete(doc))).toEqual(expect.arrayContaining(['TestFlip', 'TestResize']));
  });

  it('follows a type set in a _base_ file', () => {
    const t = tempFiles({ 'base.yaml': yaml('model:', '  type: Classification', '  backbone: {type: ResNet}') });
    try {
      const items = complete(yaml('_base_: base.yaml', 'model:', '  head:', '    type: <|>'), t.file('child.yaml'));
      expect(labels(items)).toEqual(names('head'));
      const params = complete(yaml('_base_: base.yaml', 'model:', '  backbone:', '    <|>'), t.file('child.yaml'));
      expect(labels(params)).toContain('zero_init_residual');
      expect(labels(params)).not.toContain('type');
    } finally {
      t.cleanup();
    }
  });
});

describe('completion of parameters', () => {
  it('offers the parameters not yet written, on an empty line inside the mapping', () => {
    const items = complete(yaml('model:', '  type: Classification', '  backbone:', '    type: ResNet', '    depth: 50', '    <|>', '  head: {type: ClsHead, num_classes: 2}'));
    expect(labels(items)).toEqual(['base_width', 'frozen_stages', 'in_channels', 'out_indices', 'output_stride', 'stem', 'zero_init_residual']);
    const stem = items.find((i) => i.label === 'stem')!;
    expect(stem.insertText).toBe('stem: ${1|imagenet,cifar|}');
    expect(stem.snippet).toBe(true);
    expect(stem.detail).toBe('"imagenet" | "cifar" = imagenet');
    expect(stem.documentation).toContain('7x7/2 conv');
    expect(items.find((i) => i.label === 'base_width')!.insertText).toBe('base_width: ${1:64}');
    expect(items.find((i) => i.label === 'out_indices')!.insertText).toBe('out_indices: ${1:[3]}');
  });

  it('completes a key being typed without its colon', () => {
    const items = complete(yaml('model:', '  type: Classification', '  backbone:', '    type: ResNet', '    dep<|>', '  head: {type: ClsHead, num_classes: 2}'));
    const depth = items.find((i) => i.label === 'depth')!;
    expect(depth.insertText).toBe('depth: ${1|18,34,50,101,152|}');
    expect(depth.range).toEqual({ start: { line: 4, character: 4 }, end: { line: 4, character: 7 } });
  });

  it('offers only `type` while the component is unknown, and slot snippets nest a type', () => {
    expect(labels(complete(yaml('model:', '  type: Classification', '  backbone:', '    <|>')))).toEqual(['type']);
    const items = complete(yaml('model:', '  type: Classification', '  <|>'));
    expect(labels(items)).toEqual(['backbone', 'freeze_backbone', 'head', 'jsd_loss', 'mixup', 'neck', 'pretrained', 'pretrained_key']);
    const backbone = items.find((i) => i.label === 'backbone')!;
    expect(backbone.insertText).toBe('backbone:\n  type: $1');
    expect(backbone.retrigger).toBe(true);
    // Required parameters sort first.
    const sorted = [...items].sort((a, b) => a.sortText!.localeCompare(b.sortText!)).map((i) => i.label);
    expect(sorted.slice(0, 2)).toEqual(['backbone', 'head']);
  });

  it('reads a key named __proto__ as a key (cvw validate calls it unknown), never as the mapping\'s prototype', () => {
    // Its mapping is no `type` of the model, whatever it holds; null there leaves Object's methods in place.
    const text = yaml('model:', '  __proto__: {type: Classification}', '  <|>', 'data:', '  __proto__: null');
    expect(labels(complete(text))).toEqual(['type']);
    const doc = new ConfigDocument('/w/a.yaml', withCursor(text).text);
    expect(doc.slotAt(['model'])).toEqual({ kind: 'model', type: undefined, entry: undefined });
    expect(Object.hasOwn(doc.value.model as object, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(doc.value.data)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).type).toBeUndefined();
  });

  it('offers the top-level sections at column 0', () => {
    const items = complete(yaml('model:', '  type: Classification', '<|>'));
    expect(labels(items)).toEqual(expect.arrayContaining(['data', 'engine', 'optimizer', 'runner', 'seed', 'custom_imports']));
    expect(labels(items)).not.toContain('model');
  });

  it('offers a list item mapping its keys after a dash', () => {
    const items = complete(yaml('hooks:', '  - <|>'));
    expect(labels(items)).toEqual(['type']);
    expect(items[0].insertText).toBe('type: $1');
  });

  it('knows the mapping of a list item, and stays quiet in comments', () => {
    expect(labels(complete(yaml('hooks:', '  - type: TestHook', '    <|>')))).toEqual(['every']);
    expect(labels(complete(yaml('hooks:', '- type: TestHook', '  ev<|>')))).toEqual(['every']);
    expect(complete(yaml('model:', '  # a comm<|>', '  type: Classification'))).toEqual([]);
  });

  it('inserts one-line snippets inside flow mappings', () => {
    const items = complete(yaml('model: {type: Classification, <|>}'));
    expect(items.find((i) => i.label === 'backbone')!.insertText).toBe('backbone: {type: $1}');
  });

  it('uses JSON syntax in JSON configs', () => {
    const items = complete('{"model": {"type": "Classification", "backbone": {"type": "ResNet", "<|>"}}}', '/w/a.json');
    const depth = items.find((i) => i.label === 'depth')!;
    expect(depth.insertText).toBe('"depth": ${1|18,34,50,101,152|}');
    // The quotes typed so far are replaced too.
    const at = '{"model": {"type": "Classification", "backbone": {"type": "ResNet", '.length;
    expect(depth.range).toEqual({ start: { line: 0, character: at }, end: { line: 0, character: at + 2 } });
    expect(depth.filterText).toBe('"depth"');
    const types = complete('{"model": {"type": "Classification", "backbone": {"type": "Re<|>"}}}', '/w/a.json');
    expect(labels(types)).toEqual(names('backbone'));
    expect(types.find((i) => i.label === 'ResNet')!.insertText).toBe('ResNet');
  });
});

describe('completion of values', () => {
  it('offers enumeration values and booleans', () => {
    expect(labels(complete(yaml('engine:', '  backend: <|>')))).toEqual(expect.arrayContaining(['auto', 'cpu', 'tensorflow', 'wasm']));
    expect(labels(complete(yaml('model:', '  type: Classification', '  freeze_backbone: <|>')))).toEqual(['false', 'true']);
    expect(labels(complete(yaml('model:', '  type: Classification', '  backbone: {type: ResNet, depth: <|>}')))).toEqual(['101', '152', '18', '34', '50']);
  });

  it('offers config files for _base_ and modules for custom_imports', () => {
    const t = tempFiles({
      'configs/_base_/models/resnet.yaml': 'model: {}\n',
      'configs/_base_/data.yml': 'data: {}\n',
      'configs/cls/a.yaml': '',
      'configs/cls/notes.txt': '',
      'configs/cls/my_neck.ts': '',
    });
    try {
      const file = t.file('configs/cls/a.yaml');
      const top = complete(yaml('_base_: ../_base_/<|>'), file);
      expect(labels(top)).toEqual(['data.yml', 'models/']);
      expect(top.find((i) => i.label === 'data.yml')!.range.start.character).toBe('_base_: ../_base_/'.length);
      expect(labels(complete(yaml('_base_:', '  - ../_base_/models/r<|>'), file))).toEqual(['resnet.yaml']);
      expect(labels(complete(yaml('custom_imports: [<|>]'), file))).toEqual(['../', 'my_neck.ts']);
    } finally {
      t.cleanup();
    }
  });
});

describe('custom components', () => {
  it('appear in completion after their module is edited, without a restart', () => {
    const t = tempFiles({
      'neck.ts': [
        "import { register, z } from 'cv-workbench';",
        "register('neck', { type: 'GapNeck', description: 'pool', params: z.strictObject({}) });",
        '',
      ].join('\n'),
    });
    try {
      const doc = (cursor: string) => complete(yaml('custom_imports: [./neck.ts]', 'model:', '  type: Classification', cursor), t.file('a.yaml'));
      expect(labels(doc('  neck: {type: <|>}'))).toEqual([...names('neck')].sort());
      expect(labels(doc('  neck: {type: <|>}'))).toContain('GapNeck');
      fs.writeFileSync(
        t.file('neck.ts'),
        [
          "import { register, z } from 'cv-workbench';",
          "register('neck', { type: 'GapNeck', description: 'pool', params: z.strictObject({ keep_dims: z.boolean().default(false) }) });",
          "register('neck', { type: 'FpnNeck', description: 'fpn', params: z.strictObject({}) });",
          '',
        ].join('\n'),
      );
      // mtime resolution: make the edit visibly newer.
      const later = new Date(Date.now() + 2000);
      fs.utimesSync(t.file('neck.ts'), later, later);
      expect(labels(doc('  neck: {type: <|>}'))).toEqual(expect.arrayContaining(['FpnNeck', 'GapNeck', 'TestNeck']));
      expect(labels(doc('  neck: {type: GapNeck, <|>}'))).toEqual(['keep_dims']);
    } finally {
      unregisterFile(path.resolve(t.file('neck.ts')));
      t.cleanup();
    }
  });
});
