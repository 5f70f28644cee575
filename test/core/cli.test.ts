import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import * as fs from 'node:fs';
import { tempFiles } from '../helpers/tmp';

const root = path.resolve(__dirname, '../..');
const cvw = path.join(root, 'bin', 'cvw.js');
const t = tempFiles({
  'ok.yaml': 'model: {type: Classification, backbone: {type: ResNet}, head: {type: ClsHead, num_classes: 2}}\n',
  'bad.yaml': 'model:\n  type: Classification\n  backbone: {type: ResNte}\n  head: {type: ClsHead, num_classes: 2}\n',
  '_base_/views.yaml': 'data:\n  train:\n    batch_size: 8\noptimizer: {type: SGD, lr: 0.1, momentun: 0.9}\n',
  'uses_base.yaml': '_base_: _base_/views.yaml\nmodel: {type: Classification, backbone: {type: ResNet}, head: {type: ClsHead, num_classes: 2}}\n',
  'marker.js': "require('fs').writeFileSync(__filename + '.loaded', 'x');\n",
  'custom.yaml': 'custom_imports: [./marker.js]\nmodel:\n  type: Classification\n  backbone: {type: ResNet}\n  neck: {type: MarkerNeck}\n  head: {type: ClsHead, num_classes: 2}\n',
});

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [cvw, ...args], { cwd: t.dir, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

beforeAll(() => {
  if (!fs.existsSync(path.join(root, 'dist', 'lib', 'cli', 'main.js'))) throw new Error('run `npm run build` first: the CLI tests run the built cvw');
});
afterAll(() => t.cleanup());

describe('cvw', () => {
  it('prints help and its version', () => {
    expect(run('--help')).toMatchObject({ code: 0, out: expect.stringContaining('Usage: cvw <command>') });
    const version = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version;
    expect(run('--version')).toMatchObject({ code: 0, out: `${version}\n` });
    expect(run('validate', '--help')).toMatchObject({ code: 0, out: expect.stringContaining('Usage: cvw validate <configs...>') });
    expect(run('help', 'validate')).toMatchObject({ code: 0, out: run('validate', '--help').out });
    expect(run('help', 'data', 'pack')).toMatchObject({ code: 0, out: expect.stringContaining('Usage: cvw data pack') });
  });

  it('rejects unknown commands and options with a suggestion and exit status 2', () => {
    expect(run('valdate', 'x')).toMatchObject({ code: 2, err: expect.stringContaining('unknown command "valdate" — did you mean "validate"?') });
    expect(run('validate', '--jsn', 'x')).toMatchObject({ code: 2, err: expect.stringContaining('unknown option --jsn for "cvw validate" — did you mean "--json"?') });
    expect(run('config', 'prnt', 'x')).toMatchObject({ code: 2, err: expect.stringContaining('unknown command "cvw config prnt" — did you mean "print"?') });
  });

  it('validate: file:line:column on stdout, exit 1 on errors, 0 when clean, JSON on request', () => {
    const bad = run('validate', 'bad.yaml');
    expect(bad.code).toBe(1);
    expect(bad.out).toBe('bad.yaml:3:20: error: unknown backbone "ResNte" — did you mean "ResNet"?\n');
    expect(bad.err).toContain('1 error in 1 config');
    expect(run('validate', 'ok.yaml')).toMatchObject({ code: 0, out: '' });
    const json = JSON.parse(run('validate', 'bad.yaml', '--json').out);
    expect(json).toEqual([
      expect.objectContaining({ file: path.join(t.dir, 'bad.yaml'), line: 3, column: 20, severity: 'error', suggestions: ['ResNet'], code: 'unknown-type' }),
    ]);
  });

  it('validate: a base fragment may leave out what the configs including it set; the rest is checked', () => {
    // data.train has no dataset type: the including configs give it. A misspelt key is still an error.
    expect(run('validate', '_base_/views.yaml')).toMatchObject({ code: 1, out: '_base_/views.yaml:4:33: error: unknown key "momentun" in optimizer "SGD" (optimizer) — did you mean "momentum"?\n' });
    // The same file included by a config is checked whole, there.
    const whole = run('validate', 'uses_base.yaml');
    expect(whole.code).toBe(1);
    expect(whole.out).toContain('_base_/views.yaml:2:3: error: data.train: missing "type" — which dataset?');
    // The README's `cvw validate configs/**/*.yaml`: every shipped config and fragment is clean.
    const shipped = (fs.readdirSync(path.join(root, 'configs'), { recursive: true }) as string[]).filter((f) => f.endsWith('.yaml')).map((f) => path.join(root, 'configs', f));
    expect(shipped.filter((f) => f.includes(`${path.sep}_base_${path.sep}`)).length).toBeGreaterThan(5);
    expect(run('validate', ...shipped)).toMatchObject({ code: 0, out: '' });
  });

  it('validate --no-custom-imports runs none of the modules (CI of untrusted pull requests): information, exit 0', () => {
    const r = run('validate', 'custom.yaml', '--no-custom-imports');
    expect(fs.existsSync(t.file('marker.js.loaded'))).toBe(false);
    expect(r.out).toBe(
      'custom.yaml:1:1: info: custom_imports not loaded: validated with --no-custom-imports; the components of marker.js are unknown here and not checked\n' +
        'custom.yaml:5:16: info: unknown neck "MarkerNeck" — did you mean "MAENeck"? (custom_imports not loaded)\n',
    );
    expect(r.code).toBe(0);
    // Without the flag the module runs (and registers nothing here, so the neck is an error).
    expect(run('validate', 'custom.yaml')).toMatchObject({ code: 1, out: expect.stringContaining('custom.yaml:5:16: error: unknown neck "MarkerNeck"') });
    expect(fs.existsSync(t.file('marker.js.loaded'))).toBe(true);
  });

  it('config print, data inspect and data pack take --no-custom-imports too: reading a config runs none of its code', () => {
    fs.rmSync(t.file('marker.js.loaded'), { force: true });
    const dataConfig = `custom_imports: [./marker.js]\n_base_: ${path.join(root, 'configs/classification/resnet18_fashion_mnist_sample.yaml')}\ndata: {train: {source: {root: ${path.join(root, 'data/fashion-mnist-sample')}}}}\n`;
    fs.writeFileSync(t.file('data_custom.yaml'), dataConfig);
    expect(run('config', 'print', 'custom.yaml', '--no-custom-imports', '--json')).toMatchObject({ code: 0, out: expect.stringContaining('"MarkerNeck"') });
    expect(run('data', 'inspect', 'data_custom.yaml', '--no-custom-imports', '--json', '-q')).toMatchObject({ code: 0, out: expect.stringContaining('"items": ') });
    expect(run('data', 'pack', 'data_custom.yaml', '--no-custom-imports', '--out', 'packed', '-q')).toMatchObject({ code: 0 });
    expect(fs.existsSync(t.file('marker.js.loaded'))).toBe(false);
    expect(run('config', 'print', 'data_custom.yaml')).toMatchObject({ code: 0 });
    expect(fs.existsSync(t.file('marker.js.loaded'))).toBe(true);
  });

  it("init names its file as a shell reads it back (a path with spaces)", () => {
    const r = run('init', 'Classification', '-o', "new dir/it's é.yaml");
    expect(r).toMatchObject({ code: 0, out: "new dir/it's é.yaml\n" });
    expect(r.err).toContain(`train it with: cvw train 'new dir/it'\\''s é.yaml'\n`);
  });

  it('config print: resolved config with overrides, errors without a stack trace', () => {
    const out = run('config', 'print', 'ok.yaml', '--model.head.num_classes', '5', '--json');
    expect(out.code).toBe(0);
    expect(JSON.parse(out.out).model.head).toMatchObject({ num_classes: 5, with_avg_pool: true });
    const bad = run('config', 'print', 'ok.yaml', '--model.head.num_clases=5');
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('<command line>: error: --model.head.num_clases=5: unknown key "num_clases" in head "ClsHead" (model.head) — did you mean "num_classes"?');
    expect(bad.err).not.toMatch(/\n\s+at /);
  });

  it('schema prints JSON Schema', () => {
    const s = JSON.parse(run('schema').out);
    expect(s.$schema).toContain('2020-12');
    expect(s.$defs['backbone.ResNet']).toBeDefined();
  });
});
