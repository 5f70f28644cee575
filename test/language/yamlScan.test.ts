import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { scanYaml, toValue, type MapNode } from '../../src/core/language/yamlScan';
import { yaml } from './fixtures';

const SAMPLES: Record<string, string> = {
  block: yaml(
    'model:',
    '  type: Classification   # the algorithm',
    '  backbone:',
    '    type: ResNet',
    '    out_indices: [1, 2, 3]',
    '  head: {type: ClsHead, num_classes: 10, extra: {a: [1, {b: 2}]}}',
    'data:',
    '  train:',
    '    pipeline:',
    '      - type: A',
    '        size: 224',
    '      - {type: B, p: 0.5}',
    '      -',
    '        type: C',
    '    paths:',
    '    - a.txt',
    '    - "b c.txt"',
    "    - 'it''s'",
    '_base_: [../a.yaml, b.yml]',
    'x: |',
    '  line one',
    '  line two',
    'y: >-',
    '  folded',
    '  text',
    'z: ~',
    'w: 1.5e3',
    'v: 0x1F',
    'neg: -3',
    's: "q\\tx\\u0041"',
    'anchor: &a 3',
    'tagged: !!str 12',
    'url: http://x.org/a#b',
    'empty:',
  ),
  json: '{"model": {"type": "ResNet", "depth": 18, "list": [1, 2, {"a": null}]},\n "b": true, "c": "x"}\n',
  sequences: yaml('- a', '- - b', '  - c', '- k: v', '  k2: v2'),
  compactList: yaml('hooks:', '- type: A', '  every: 3', '- type: B', 'seed: 1'),
  multiLineFlow: yaml('a: {', '  b: 1,', '  c: [1,', '    2]', '}', 'd: 4'),
  document: yaml('---', '# comment', 'a: 1', '...'),
};

describe('the forgiving YAML reader', () => {
  for (const [name, text] of Object.entries(SAMPLES)) {
    it(`reads the same values as the yaml package: ${name}`, () => {
      expect(toValue(scanYaml(text))).toEqual(parse(text));
    });
  }

  it('reads every config of the repository as the yaml package does', () => {
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (/\.(ya?ml|json)$/.test(e.name)) files.push(p);
      }
    };
    for (const dir of ['configs', 'test/e2e/fixtures']) if (fs.existsSync(dir)) walk(dir);
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      const text = fs.readFileSync(f, 'utf8');
      let expected: unknown;
      try {
        expected = parse(text);
      } catch {
        continue;
      }
      expect([f, toValue(scanYaml(text))]).toEqual([f, expected ?? {}]);
    }
  });

  it('keeps the offsets of keys, colons and values', () => {
    const text = yaml('model:', '  backbone: {type: ResNet}');
    const root = scanYaml(text) as MapNode;
    const backbone = (root.pairs[0].value as MapNode).pairs[0];
    expect(text.slice(backbone.keyStart, backbone.keyEnd)).toBe('backbone');
    expect(text[backbone.colon!]).toBe(':');
    expect(text.slice(backbone.value!.start, backbone.value!.end)).toBe('{type: ResNet}');
  });

  it('reads half-typed documents: a key without its colon, an unclosed brace, an open quote', () => {
    const text = yaml('model:', '  backbone:', '    type: ResNet', '    dep', '  head: {type: Cls', '  neck: {type: "Gap', 'seed: 1');
    const root = scanYaml(text) as MapNode;
    const model = root.pairs[0].value as MapNode;
    expect(model.pairs.map((p) => p.key)).toEqual(['backbone', 'head', 'neck']);
    const backbone = model.pairs[0].value as MapNode;
    expect(backbone.pairs.map((p) => [p.key, p.colon !== undefined])).toEqual([
      ['type', true],
      ['dep', false],
    ]);
    expect((model.pairs[1].value as MapNode).closed).toBe(false);
    expect(root.pairs.map((p) => p.key)).toEqual(['model', 'seed']);
    expect(toValue(scanYaml(text))).toEqual({ model: { backbone: { type: 'ResNet' }, head: { type: 'Cls' }, neck: { type: 'Gap' } }, seed: 1 });
  });
});
