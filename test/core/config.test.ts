import { afterAll, describe, expect, it } from 'vitest';
import '../../src/builtins';
import { checkConfig, resolveConfig } from '../../src/core/check';
import { loadConfig } from '../../src/core/config/load';
import { applyOverrides } from '../../src/core/config/overrides';
import { ConfigError, COMMAND_LINE } from '../../src/core/problems';
import { tempFiles, lc } from '../helpers/tmp';
import * as fs from 'node:fs';
import { ConfigDocument } from '../../src/core/language/configDocument';
import { getPath, stripDelete } from '../../src/core/config/merge';

const t = tempFiles({
  'base.yaml': ['model:', '  type: Classification', '  backbone: {type: ResNet, depth: 50, stem: cifar}', '  head: {type: ClsHead, num_classes: 10, dropout: 0.1}', 'hooks: [{type: EMAHook}]', ''].join('\n'),
  'merge.yaml': ['_base_: base.yaml', 'model:', '  backbone: {depth: 18}', '  head:', '    _delete_: true', '    type: ClsHead', '    num_classes: 3', 'hooks: []', ''].join('\n'),
  'list-a.yaml': 'seed: 1\nmodel: {type: Classification, backbone: {type: ResNet}, head: {type: ClsHead, num_classes: 2}}\n',
  'list-b.yaml': 'seed: 2\n',
  'multi.yaml': '_base_: [list-a.yaml, list-b.yaml]\n',
  'json.json': '{\n  "_base_": "base.yaml",\n  "model": {"backbone": {"depth": 21}}\n}\n',
  'sub/deep.yaml': '_base_: ../merge.yaml\nseed: 5\n',
  'wrongslot.yaml': 'model:\n  type: Classification\n  backbone: {type: ClsHead}\n  head: {type: ClsHead, num_classes: 2}\n',
  'missing.yaml': 'model:\n  type: Classification\n  backbone: {type: ResNet}\n  head: {type: ClsHead}\noptimizer:\n  type: SGD\n',
  'types.yaml': 'seed: "three"\nmodel:\n  type: Classification\n  backbone: {type: ResNet, in_channels: 0, out_indices: [1, 7]}\n  head: {type: ClsHead, num_classes: 2.5}\n',
  'notype.yaml': 'model:\n  type: Classification\n  backbone: {depth: 18}\n  head: {type: ClsHead, num_classes: 2}\n',
  'bad.yaml': 'model:\n  type: Classification\n  backbone: {type: ResNet\n',
  'dupe.yaml': 'seed: 1\nseed: 2\n',
  'nobase.yaml': '_base_: [base.yaml, ../nowhere/x.yaml]\n',
  'cycle-a.yaml': '_base_: cycle-b.yaml\n',
  'cycle-b.yaml': 'seed: 1\n_base_: cycle-a.yaml\n',
  'mixin-head.yaml': 'model:\n  head:\n    _delete_: true\n    type: ClsHead\n    num_classes: 4\n',
  'mixed.yaml': '_base_: [merge.yaml, mixin-head.yaml]\n',
  'nulls-ok.yaml': '_base_: base.yaml\nmodel:\n  head: {num_classes: null}\nrunner: {max_epochs: null, max_iters: 5}\n',
  'nulls.yaml': '_base_: base.yaml\nmodel:\n  backbone:\n    depth:\n  head: {num_classes: null}\nrunner: {max_epochs: null, log_interval: ~}\n',
});
afterAll(() => t.cleanup());

describe('_base_ inheritance', () => {
  it('deep-merges mappings, replaces lists, and _delete_ replaces a mapping', () => {
    const { config } = resolveConfig(t.file('merge.yaml'));
    const model = config.model as Record<string, Record<string, unknown>>;
    expect(model.backbone).toMatchObject({ type: 'ResNet', depth: 18, stem: 'cifar' });
    expect(model.head).toEqual({ type: 'ClsHead', num_classes: 3, with_avg_pool: true, dropout: 0, loss: { type: 'CrossEntropyLoss', label_smoothing: 0 } });
    expect(config.hooks).toEqual([]);
  });

  it('_delete_ in a later entry of a _base_ list replaces what the earlier entries set, without a warning', () => {
    const { config } = resolveConfig(t.file('mixed.yaml'));
    const { problems } = checkConfig(t.file('mixed.yaml'));
    expect((config.model as Record<string, unknown>).head).toEqual({ type: 'ClsHead', num_classes: 4, with_avg_pool: true, dropout: 0, loss: { type: 'CrossEntropyLoss', label_smoothing: 0 } });
    expect(problems).toEqual([]);
    // The editor merges the same way: merge.yaml's dropout is not inherited.
    const doc = new ConfigDocument(t.file('mixed.yaml'), fs.readFileSync(t.file('mixed.yaml'), 'utf8'));
    expect(stripDelete(getPath(doc.merged.value, ['model', 'head']))).toEqual({ type: 'ClsHead', num_classes: 4 });
  });

  it('merges a list of bases in order, later ones winning, relative to the including file', () => {
    expect(resolveConfig(t.file('multi.yaml')).config.seed).toBe(2);
    expect(resolveConfig(t.file('sub/deep.yaml')).config.seed).toBe(5);
  });

  it('reads JSON configs with positions', () => {
    const p = checkConfig(t.file('json.json')).problems;
    expect(p).toHaveLength(1);
    expect(p[0].file).toBe(t.file('json.json'));
    expect(lc(p[0])).toBe('3:35');
    expect(p[0].message).toBe('model.backbone.depth: expected 18 | 34 | 50 | 101 | 152, got 21');
  });

  it('remembers which file set each key', () => {
    const loaded = loadConfig(t.file('sub/deep.yaml'));
    expect(loaded.origins.get('model.backbone.stem')!.file).toBe(t.file('base.yaml'));
    expect(loaded.origins.get('model.backbone.depth')!.file).toBe(t.file('merge.yaml'));
    expect(loaded.origins.get('seed')!.file).toBe(t.file('sub/deep.yaml'));
    expect(loaded.files).toEqual([t.file('base.yaml'), t.file('merge.yaml'), t.file('sub/deep.yaml')]);
  });

  it('reports a missing base at the _base_ entry and a cycle at the entry that closes it', () => {
    const missing = checkConfig(t.file('nobase.yaml')).problems;
    expect(missing.map((p) => [lc(p), p.code])).toEqual([['1:21', 'file-not-found']]);
    expect(missing[0].message).toContain('_base_ file not found: ../nowhere/x.yaml');
    const cycle = checkConfig(t.file('cycle-a.yaml')).problems;
    expect(cycle).toHaveLength(1);
    expect(cycle[0]).toMatchObject({ code: 'base-cycle', file: t.file('cycle-b.yaml'), message: '_base_ cycle: cycle-a.yaml -> cycle-b.yaml -> cycle-a.yaml' });
    expect(lc(cycle[0])).toBe('2:9');
  });

  it('loads a base listed by several files once (a chain where each file lists the next twice)', () => {
    const depth = 14;
    const files: Record<string, string> = { 'd0.yaml': 'seed: 0\nlevels: [0]\n' };
    for (let i = 1; i <= depth; i++) files[`d${i}.yaml`] = `_base_: [d${i - 1}.yaml, d${i - 1}.yaml]\nseed: ${i}\n`;
    const d = tempFiles(files);
    try {
      const reads = new Map<string, number>();
      const loaded = loadConfig(d.file(`d${depth}.yaml`), {
        readText: (f) => {
          reads.set(f, (reads.get(f) ?? 0) + 1);
          return undefined;
        },
      });
      expect(loaded.problems).toEqual([]);
      expect(loaded.config).toEqual({ seed: depth, levels: [0] });
      expect(loaded.origins.get('levels')!.file).toBe(d.file('d0.yaml'));
      // Each file once; loaded again per path, d0 would be read 2^14 times.
      expect([...reads.values()].every((n) => n === 1)).toBe(true);
      expect(reads.size).toBe(depth + 1);
    } finally {
      d.cleanup();
    }
  });
});

describe('validation', () => {
  it('rejects a component in the wrong slot, naming the kind it is', () => {
    const [p] = checkConfig(t.file('wrongslot.yaml')).problems;
    expect(p.code).toBe('wrong-slot');
    expect(p.message).toBe('"ClsHead" is a head, but this slot takes a backbone');
    expect(lc(p)).toBe('3:20');
  });

  it('reports missing required parameters at the component, with type and description', () => {
    const [p] = checkConfig(t.file('missing.yaml')).problems;
    expect(p.code).toBe('missing-required');
    expect(lc(p)).toBe('5:1');
    expect(p.message).toBe('optimizer: optimizer "SGD" is missing required parameter "lr" (number > 0: Base learning rate (the schedule scales it))');
    expect(p.data).toMatchObject({ missing: ['lr'] });
  });

  it('reports wrong types and out-of-range values at the value, list elements included', () => {
    const problems = checkConfig(t.file('types.yaml')).problems;
    expect(problems.map((p) => `${lc(p)} ${p.message}`)).toEqual([
      '1:7 seed: expected integer >= 0, got "three" (a string)',
      '4:41 model.backbone.in_channels: expected integer >= 1, got 0',
      '4:61 model.backbone.out_indices.1: expected integer >= 0 <= 3, got 7',
      '5:38 model.head.num_classes: expected integer >= 1, got 2.5',
    ]);
  });

  it('text on disk: a byte-order mark shifts no column, bytes that are not UTF-8 and JSON comments are located errors', () => {
    fs.writeFileSync(t.file('bom.yaml'), '\uFEFFseed: x\n');
    fs.writeFileSync(t.file('latin1.yaml'), Buffer.concat([Buffer.from('seed: 1\nload_from: "caf'), Buffer.from([0xe9]), Buffer.from('"\n')]));
    fs.writeFileSync(t.file('comment.json'), '{\n  "seed": 1, // the usual\n  "work_dir": "http://not/a/comment"\n}\n');
    const shown = (f: string) => checkConfig(t.file(f)).problems.map((p) => `${lc(p)} ${p.message}`);
    expect(shown('bom.yaml')).toEqual(['1:7 seed: expected integer >= 0, got "x" (a string)']);
    expect(shown('latin1.yaml')).toEqual(['2:16 not UTF-8 text: a byte here is not valid UTF-8 (save the file as UTF-8)']);
    expect(shown('comment.json')).toEqual(['2:14 JSON has no comments; remove it, or write the config as .yaml, where # starts a comment']);
  });

  it('_delete_ other than true is an error where it is written (it would merge silently)', () => {
    fs.writeFileSync(t.file('delyes.yaml'), '_base_: base.yaml\nmodel:\n  head:\n    _delete_: yes\n    type: ClsHead\n  backbone: {_delete_: "true", type: ResNet}\n');
    expect(checkConfig(t.file('delyes.yaml')).problems.map((p) => `${lc(p)} ${p.message}`)).toEqual([
      '4:15 model.head._delete_: expected true (this mapping replaces the inherited one); leave _delete_ out to merge, got "yes" (a string)',
      '6:24 model.backbone._delete_: expected true (this mapping replaces the inherited one); leave _delete_ out to merge, got "true" (a string)',
    ]);
  });

  it('null is "not set" where a key may be left out without a default; where it has one, an error naming it', () => {
    expect(checkConfig(t.file('nulls.yaml')).problems.map((p) => `${lc(p)} ${p.message}`)).toEqual([
      '4:11 model.backbone.depth: expected 18 | 34 | 50 | 101 | 152, got null (leave the key out for its default, 18)',
      '6:42 runner.log_interval: expected integer >= 1, got null (leave the key out for its default, 10)',
    ]);
    // The builders never see the null: the key is gone, as if not written.
    const { config } = resolveConfig(t.file('nulls-ok.yaml'));
    expect(Object.keys((config.model as Record<string, Record<string, unknown>>).head)).not.toContain('num_classes');
    expect(Object.keys(config.runner as object)).not.toContain('max_epochs');
  });

  it('asks for a missing type with the names of that slot', () => {
    const [p] = checkConfig(t.file('notype.yaml')).problems;
    expect(p.code).toBe('missing-type');
    expect(p.message).toMatch(/^model\.backbone: missing "type" — which backbone\? \(.*ResNet.*\)$/);
    expect(lc(p)).toBe('3:3');
  });

  it('gives the parser position for invalid YAML and duplicate keys, and validates nothing else', () => {
    const bad = checkConfig(t.file('bad.yaml')).problems;
    expect(bad.length).toBeGreaterThan(0);
    expect(bad.every((p) => p.code === 'yaml-syntax')).toBe(true);
    expect(bad[0].message).toMatch(/^invalid YAML: /);
    expect(bad[0].range.start.line).toBeGreaterThanOrEqual(2);
    const dupe = checkConfig(t.file('dupe.yaml')).problems;
    expect(dupe.map((p) => [lc(p), p.code])).toEqual([['2:1', 'yaml-syntax']]);
    expect(dupe[0].message).toBe('invalid YAML: key "seed" appears twice in this mapping (first at line 1, column 1); keep one');
  });

  it('YAML anchors and aliases: an alias reads as its anchor\'s value; a missing anchor and an exponential expansion are errors at the alias', () => {
    const files = tempFiles({
      'alias.yaml': 'seed: &s 3\nrunner: {max_iters: *s}\noptimizer: &o {type: SGD, lr: 0.1}\nhooks: []\n',
      'none.yaml': 'seed: 1\nrunner: {max_iters: *nope}\n',
      'laughs.yaml': ['a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]', ...Array.from({ length: 9 }, (_, i) => `a${i + 1}: &a${i + 1} [${Array(10).fill(`*a${i}`).join(', ')}]`), ''].join('\n'),
    });
    try {
      const alias = loadConfig(files.file('alias.yaml'));
      expect(alias.problems).toEqual([]);
      expect(alias.config.runner).toEqual({ max_iters: 3 });
      const none = checkConfig(files.file('none.yaml')).problems;
      expect(none.map((p) => [lc(p), p.message])).toEqual([['2:21', 'invalid YAML: alias *nope names no anchor (&nope) before it']]);
      const started = Date.now();
      const laughs = checkConfig(files.file('laughs.yaml')).problems;
      expect(laughs.map((p) => p.message)).toEqual(['invalid YAML: aliases expand to more than 10000 values; a config needs a few']);
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      files.cleanup();
    }
  });

  it('YAML aliases: a few aliases of a long list are bounded by the values they expand to, and an alias inside its own anchor is an error, not a stack overflow', () => {
    // 21 KB of text: 3,000 aliases of a 3,000-item list were 9 million values (the process ran out of memory).
    const long = Array(3000).fill('1').join(', ');
    const files = tempFiles({
      'wide.yaml': `a: &a [${long}]\nb: [${Array(3000).fill('*a').join(', ')}]\n`,
      'self-seq.yaml': 'seed: 1\na: &a [1, *a]\n',
      'self-map.yaml': 'a: &a\n  b: {c: *a}\n',
    });
    try {
      const started = Date.now();
      const wide = checkConfig(files.file('wide.yaml')).problems;
      expect(wide.map((p) => [lc(p), p.message])).toEqual([['2:17', 'invalid YAML: aliases expand to more than 10000 values; a config needs a few']]);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(checkConfig(files.file('self-seq.yaml')).problems.map((p) => [lc(p), p.message])).toEqual([['2:11', 'invalid YAML: alias *a is inside its own anchor &a: a value cannot contain itself']]);
      expect(checkConfig(files.file('self-map.yaml')).problems.map((p) => [lc(p), p.message])).toEqual([['2:10', 'invalid YAML: alias *a is inside its own anchor &a: a value cannot contain itself']]);
    } finally {
      files.cleanup();
    }
  });

  it('a key twice in a flow mapping is a duplicate, as in a block one', () => {
    const files = tempFiles({ 'flow.yaml': 'optimizer: {type: SGD, lr: 0.05, lr: 5}\n' });
    try {
      expect(checkConfig(files.file('flow.yaml')).problems.map((p) => [lc(p), p.message])).toEqual([['1:34', 'invalid YAML: key "lr" appears twice in this mapping (first at line 1, column 24); keep one']]);
    } finally {
      files.cleanup();
    }
  });

  it('a key named __proto__ is an unknown key, in a file or an override, and sets no prototype', () => {
    const files = tempFiles({ 'proto.yaml': '__proto__: {polluted: 1}\nseed: 1\n' });
    try {
      const inFile = checkConfig(files.file('proto.yaml')).problems;
      expect(inFile.map((p) => [lc(p), p.message.split(' (known')[0]])).toEqual([['1:1', 'unknown top-level key "__proto__"']]);
      const override = checkConfig(t.file('base.yaml'), { overrides: [{ key: 'model.__proto__.polluted', value: '1', arg: '--model.__proto__.polluted 1' }] }).problems;
      expect(override.map((p) => p.message.split(' (known')[0])).toEqual(['--model.__proto__.polluted 1: unknown key "__proto__" in model "Classification" (model)']);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    } finally {
      files.cleanup();
    }
  });

  it('resolveConfig throws one ConfigError with every problem', () => {
    try {
      resolveConfig(t.file('types.yaml'));
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).problems).toHaveLength(4);
      expect((e as ConfigError).message).toContain('types.yaml:1:7: error: seed: expected integer >= 0');
    }
  });
});

describe('command-line overrides', () => {
  it('types values by the schema: numbers, booleans, lists, text for string parameters', () => {
    const loaded = loadConfig(t.file('base.yaml'));
    const problems = applyOverrides(loaded, [
      { key: 'model.head.num_classes', value: '7', arg: '--model.head.num_classes 7' },
      { key: 'model.head.with_avg_pool', value: 'false', arg: '--model.head.with_avg_pool=false' },
      { key: 'model.backbone.out_indices', value: '[2, 3]', arg: '--model.backbone.out_indices [2, 3]' },
      { key: 'model.pretrained', value: '123', arg: '--model.pretrained 123' },
    ]);
    expect(problems).toEqual([]);
    const m = loaded.config.model as Record<string, Record<string, unknown>>;
    expect(m.head.num_classes).toBe(7);
    expect(m.head.with_avg_pool).toBe(false);
    expect(m.backbone.out_indices).toEqual([2, 3]);
    expect((loaded.config.model as Record<string, unknown>).pretrained).toBe('123');
    expect(loaded.origins.get('model.head.num_classes')).toMatchObject({ file: COMMAND_LINE, arg: '--model.head.num_classes 7' });
  });

  it('an override of a key that does not exist is an error naming the option, with a suggestion', () => {
    const { problems } = checkConfig(t.file('base.yaml'), { overrides: [{ key: 'model.hed.num_classes', value: '3', arg: '--model.hed.num_classes 3' }] });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ file: COMMAND_LINE, code: 'unknown-key', suggestions: ['head'] });
    expect(problems[0].message).toBe('--model.hed.num_classes 3: unknown key "hed" in model "Classification" (model) — did you mean "head"?');
  });

  it('a list index must name an element or the next one; a component slot takes no null', () => {
    const messages = (...overrides: Array<[string, string]>) =>
      checkConfig(t.file('base.yaml'), { overrides: overrides.map(([key, value]) => ({ key, value, arg: `--${key} ${value}` })) }).problems.map((p) => p.message);
    expect(messages(['hooks.1', '{type: EMAHook}'])).toEqual([]);
    expect(messages(['hooks.2', '{type: EMAHook}'])).toEqual(['--hooks.2 {type: EMAHook}: hooks is a list of 1; expected an index from 0 to 1 (1 appends), got "2"']);
    expect(messages(['hooks.-1', '{type: EMAHook}'])).toEqual(['--hooks.-1 {type: EMAHook}: hooks is a list of 1; expected an index from 0 to 1 (1 appends), got "-1"']);
    expect(messages(['hooks.1.momentum', '0.9'])).toEqual(["--hooks.1.momentum 0.9: hooks.1 does not exist yet: set the whole element (--hooks.1 '{...}')"]);
    expect(messages(['model.backbone', 'null'])).toEqual(['--model.backbone null: model.backbone: expected a mapping with a "type" naming a backbone, got null']);
    expect(messages(['model.neck', 'null'])).toEqual(['--model.neck null: model.neck: expected a mapping with a "type" naming a neck, got null']);
    // A list the config lacks starts empty: index 0 appends (it made a mapping {0: ...}, "expected list").
    const noHooks = (key: string) => checkConfig(t.file('list-a.yaml'), { overrides: [{ key, value: '{type: EMAHook}', arg: `--${key} {type: EMAHook}` }] }).problems.map((p) => p.message);
    expect(noHooks('hooks.0')).toEqual([]);
    expect(noHooks('hooks.1')).toEqual(['--hooks.1 {type: EMAHook}: hooks is a list of 0; expected an index from 0 to 0 (0 appends), got "1"']);
    // Inheritance is settled by the files: on the command line it would load nothing.
    expect(messages(['_base_', 'other.yaml'])).toEqual(['--_base_ other.yaml: _base_ only works in config files (the command line sets values of the merged config); write a config file that inherits from this one']);
    expect(messages(['model.head._delete_', 'true'])).toEqual(['--model.head._delete_ true: _delete_ only works in config files (the command line sets values of the merged config); write a config file that inherits from this one']);
  });

  it('a wrong override value is reported against the option', () => {
    const { problems } = checkConfig(t.file('base.yaml'), { overrides: [{ key: 'model.backbone.depth', value: '19', arg: '--model.backbone.depth 19' }] });
    expect(problems.map((p) => p.message)).toEqual(['--model.backbone.depth 19: model.backbone.depth: expected 18 | 34 | 50 | 101 | 152, got 19']);
  });
});
