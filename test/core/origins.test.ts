// Where each value of a merged config came from: origins through a `_base_` chain and the command
// line, `cvw config print --origins`, the resolved view the editor shows, and the warnings for
// values that never apply.
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import '../../src/builtins';
import { checkConfig, resolveConfig } from '../../src/core/check';
import { describeOrigin, resolvedView } from '../../src/core/config/resolvedView';
import { COMMAND_LINE, type Problem } from '../../src/core/problems';
import { cvw } from '../helpers/cvw';
import { lc, tempFiles } from '../helpers/tmp';

const MODEL = 'model:\n  type: Classification\n  backbone: {type: ResNet, depth: 50}\n  head: {type: ClsHead, num_classes: 10}\n';
const t = tempFiles({
  // Two bases and a child: the chain of the issue (a value set in a base, overridden, and overridden on the command line).
  'configs/_base_/model.yaml': MODEL,
  'configs/_base_/schedule.yaml': 'optimizer:\n  type: SGD\n  lr: 0.1\n  momentum: 0.9\nrunner:\n  max_epochs: 100\n  log_interval: 5\n',
  'configs/exp.yaml': '_base_: [_base_/model.yaml, _base_/schedule.yaml]\nmodel:\n  backbone:\n    depth: 18\nrunner:\n  max_epochs: 20\n',
  // A mixin: a plain base overlaid by a later entry of a _base_ list (on purpose, not reported).
  'mixin/data.yaml': 'data:\n  train:\n    batch_size: 128\n',
  'mixin/small.yaml': 'data:\n  train:\n    batch_size: 16\n',
  'mixin/exp.yaml': '_base_: [data.yaml, small.yaml]\n',
  // A child's deliberate value undone by a sibling that does not inherit from it.
  'sibling/base.yaml': MODEL + 'optimizer: {type: SGD, lr: 0.1}\n',
  'sibling/child.yaml': '_base_: base.yaml\noptimizer:\n  lr: 0.01\n',
  'sibling/patch.yaml': 'optimizer: {lr: 0.5}\n',
  'sibling/exp.yaml': '_base_: [child.yaml, patch.yaml]\n',
  'sibling/fixed.yaml': '_base_: [child.yaml, patch.yaml]\noptimizer: {lr: 0.02}\n',
  'sibling/same.yaml': '_base_: [child.yaml, same-patch.yaml]\n',
  'sibling/same-patch.yaml': 'optimizer: {lr: 0.01}\n',
  // A diamond: b.yaml brings base.yaml back after a.yaml overrode it.
  'diamond/base.yaml': MODEL + 'seed: 1\n',
  'diamond/a.yaml': '_base_: base.yaml\nseed: 7\n',
  'diamond/b.yaml': '_base_: base.yaml\n',
  'diamond/exp.yaml': '_base_: [a.yaml, b.yaml]\n',
  // A key no schema knows, written in the middle of a chain.
  'unknown/child.yaml': '_base_: ../configs/exp.yaml\nrunner:\n  max_epoch: 3\n',
});
afterAll(() => t.cleanup());

const override = (key: string, value: string) => ({ key, value, arg: `--${key} ${value}` });

describe('origins of a merged config', () => {
  it('names the base file, the child and the command line, at the line and column that wrote each value', () => {
    const { loaded } = checkConfig(t.file('configs/exp.yaml'), { overrides: [override('runner.max_epochs', '5')] });
    const at = (p: string) => describeOrigin(loaded.origins.get(p), t.dir);
    expect(at('model.backbone.type')).toBe('configs/_base_/model.yaml:3:14');
    expect(at('model.backbone.depth')).toBe('configs/exp.yaml:4:5');
    expect(at('optimizer.lr')).toBe('configs/_base_/schedule.yaml:3:3');
    expect(at('runner.log_interval')).toBe('configs/_base_/schedule.yaml:7:3');
    expect(at('runner.max_epochs')).toBe('override --runner.max_epochs 5');
    expect(loaded.origins.get('runner.max_epochs')!.file).toBe(COMMAND_LINE);
    // What each replaced value was, and where it was written, oldest first.
    const history = (p: string) => (loaded.overridden?.get(p) ?? []).map((o) => [describeOrigin(o.origin, t.dir), o.value]);
    expect(history('runner.max_epochs')).toEqual([
      ['configs/_base_/schedule.yaml:6:3', 100],
      ['configs/exp.yaml:6:3', 20],
    ]);
    expect(history('model.backbone.depth')).toEqual([['configs/_base_/model.yaml:3:28', 50]]);
    expect(history('optimizer.lr')).toEqual([]);
  });

  it('renders the resolved config with each value at a position of the text and its origin', () => {
    const { loaded, config } = resolveConfig(t.file('configs/exp.yaml'), { overrides: [override('runner.max_epochs', '5')] });
    const view = resolvedView(config, loaded.origins, loaded.config, { overridden: loaded.overridden });
    const lines = view.text.split('\n');
    const value = (p: string) => view.values.find((v) => v.path === p)!;
    const depth = value('model.backbone.depth');
    expect(lines[depth.range.start.line].slice(depth.range.start.character, depth.range.end.character)).toBe('18');
    expect(describeOrigin(depth.origin, t.dir)).toBe('configs/exp.yaml:4:5');
    const epochs = value('runner.max_epochs');
    expect(lines[epochs.range.start.line].trim()).toBe('max_epochs: 5');
    expect(epochs.origin?.arg).toBe('--runner.max_epochs 5');
    expect(epochs.overridden?.map((o) => o.value)).toEqual([100, 20]);
    // A default no file set is not credited to the mapping around it.
    expect(value('model.backbone.stem').origin).toBeUndefined();
    expect(value('model.head.num_classes').origin?.file).toBe(t.file('configs/_base_/model.yaml'));
    // Every leaf of the config is listed once, in the order of the text.
    const lineOrder = view.values.map((v) => v.range.start.line);
    expect(lineOrder).toEqual([...lineOrder].sort((a, b) => a - b));
    expect(new Set(view.values.map((v) => v.path)).size).toBe(view.values.length);
  });

  it('cvw config print --origins annotates every value; --json gives {config, origins}', async () => {
    const cwd = process.cwd();
    process.chdir(t.dir);
    try {
      const out = await cvw('config', 'print', 'configs/exp.yaml', '--origins', '--no-defaults', '--runner.max_epochs', '5');
      expect(out.code).toBe(0);
      expect(out.out.split('\n')).toEqual(
        expect.arrayContaining([
          '    type: ResNet # configs/_base_/model.yaml:3:14',
          '    depth: 18 # configs/exp.yaml:4:5',
          '  lr: 0.1 # configs/_base_/schedule.yaml:3:3',
          '  max_epochs: 5 # override --runner.max_epochs 5',
          '  log_interval: 5 # configs/_base_/schedule.yaml:7:3',
        ]),
      );
      // Every value line carries an origin.
      expect(out.out.split('\n').filter((l) => /:\s*\S/.test(l) && !l.includes(' # '))).toEqual([]);
      const withDefaults = await cvw('config', 'print', 'configs/exp.yaml', '--origins');
      expect(withDefaults.out).toMatch(/^ {4}stem: \S+ # default$/m);
      const json = JSON.parse((await cvw('config', 'print', 'configs/exp.yaml', '--origins', '--json', '--optimizer.lr=0.2')).out);
      expect(json.config.optimizer.lr).toBe(0.2);
      expect(json.origins['optimizer.lr']).toBe('override --optimizer.lr=0.2');
      expect(json.origins['optimizer.momentum']).toBe('configs/_base_/schedule.yaml:4:3');
    } finally {
      process.chdir(cwd);
    }
  });
});

describe('values that never apply', () => {
  const warnings = (file: string, overrides: ReturnType<typeof override>[] = []) => checkConfig(t.file(file), { overrides }).problems.filter((p) => p.code === 'shadowed-value');

  it('warns at a child value that a later sibling of its _base_ list replaces, naming the winning line', () => {
    const [w, ...more] = warnings('sibling/exp.yaml');
    expect(more).toEqual([]);
    expect(w).toMatchObject({ severity: 'warning', file: t.file('sibling/child.yaml'), path: 'optimizer.lr' });
    expect(lc(w)).toBe('3:3');
    expect(w.message).toBe(
      'optimizer.lr: 0.01 here never applies: patch.yaml:1:13 sets it again, later in the _base_ list of exp.yaml, and does not inherit from this file (set the value in exp.yaml, or reorder its _base_ list)',
    );
  });

  it('warns when a diamond brings a base back over a child that overrode it', () => {
    const [w, ...more] = warnings('diamond/exp.yaml');
    expect(more).toEqual([]);
    expect(w).toMatchObject({ file: t.file('diamond/a.yaml'), path: 'seed' });
    expect(lc(w)).toBe('2:1');
    expect(w.message).toContain('seed: 7 here never applies: base.yaml:5:1 sets it again');
  });

  it('does not warn for mixins, values set again by the config in the end, equal values or overrides of a base', () => {
    expect(warnings('mixin/exp.yaml')).toEqual([]);
    expect(warnings('sibling/fixed.yaml')).toEqual([]);
    expect(warnings('sibling/same.yaml')).toEqual([]);
    expect(warnings('configs/exp.yaml', [override('runner.max_epochs', '5')])).toEqual([]);
    expect(checkConfig(t.file('mixin/exp.yaml')).loaded.config).toEqual({ data: { train: { batch_size: 16 } } });
  });

  it('warns at the command line when an override is given twice with different values', () => {
    const [w, ...more] = warnings('configs/exp.yaml', [override('optimizer.lr', '0.2'), override('optimizer.lr', '0.3')]);
    expect(more).toEqual([]);
    expect(w).toMatchObject({ file: COMMAND_LINE, path: 'optimizer.lr', message: '--optimizer.lr 0.2: never applies: --optimizer.lr 0.3 sets optimizer.lr again, later on the command line' });
    expect(warnings('configs/exp.yaml', [override('optimizer.lr', '0.2'), override('optimizer.lr', '0.2')])).toEqual([]);
  });
});

describe('a key no schema knows', () => {
  it('is an error at the line of the child file that wrote it, and at the option on the command line', () => {
    const { problems } = checkConfig(t.file('unknown/child.yaml'), { overrides: [override('optimizer.lrr', '0.1')] });
    const unknown = problems.filter((p) => p.code === 'unknown-key');
    const where = (p: Problem) => (p.file === COMMAND_LINE ? p.file : `${path.relative(t.dir, p.file)}:${lc(p)}`);
    expect(unknown.map((p) => [where(p), p.severity])).toEqual([
      ['unknown/child.yaml:3:3', 'error'],
      [COMMAND_LINE, 'error'],
    ]);
    expect(unknown[0].message).toContain('did you mean "max_epochs"?');
    expect(unknown[1].message).toMatch(/^--optimizer\.lrr 0\.1: unknown key "lrr"/);
  });
});
