// What `cvw` does with the files a user (or a cloned repository) hands it that are not what they
// claim: FIFOs and devices where a model, checkpoint, image or JSON is expected (a FIFO blocked
// the reader for good, /dev/zero grew memory without end), a TF.js manifest whose shard path leaves
// its folder, output paths that are files or folders, override keys that name Object.prototype
// members. Each ends at once with exit status 1 and a message naming the path, never "internal error".
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tinyClassificationYaml } from '../helpers/tinyConfig';
import { tempFiles } from '../helpers/tmp';

const root = path.resolve(__dirname, '../..');
const image = path.join(root, 'data', 'images-sample', fs.readdirSync(path.join(root, 'data', 'images-sample'))[0]);
const anImage = path.join(image, fs.readdirSync(image)[0]);
const t = tempFiles({
  'tiny.yaml': tinyClassificationYaml({ seed: 1, runner: 'max_iters: 1, log_interval: 1' }),
  'tinyval.yaml': tinyClassificationYaml({ seed: 1, runner: 'max_iters: 1, log_interval: 1', val: true }).replace('{ type: ClsHead }', `{ type: ClsHead, num_classes: ${fs.readdirSync(path.join(root, 'data', 'images-sample')).length} }`),
  'tfjs/model.json': JSON.stringify({ modelTopology: {}, format: 'graph-model', weightsManifest: [{ paths: ['../../../../../../../../../../dev/zero'], weights: [] }] }),
  'tfjs-bad/model.json': JSON.stringify({ modelTopology: {}, format: 'graph-model', weightsManifest: [{}] }),
  'afile': 'not a folder\n',
});

function cvw(...args: string[]) {
  const r = spawnSync(process.execPath, [path.join(root, 'bin', 'cvw.js'), ...args], { cwd: t.dir, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, signal: r.signal, out: r.stdout, err: r.stderr };
}

beforeAll(() => {
  execFileSync('mkfifo', [t.file('fifo.onnx'), t.file('fifo.safetensors'), t.file('fifo.json')]);
  fs.symlinkSync('/dev/zero', t.file('zero.onnx'));
  fs.mkdirSync(t.file('images/a'), { recursive: true });
  fs.copyFileSync(anImage, t.file('images/a/ok.png'));
  fs.symlinkSync('/dev/zero', t.file('images/a/zero.png'));
  // A trained run, for the output-path cases.
  expect(cvw('train', 'tiny.yaml', '--work-dir', 'run').code).toBe(0);
}, 120_000);
afterAll(() => t.cleanup());

describe('hostile files', () => {
  it.each([
    [['predict', 'fifo.onnx', anImage], 'model fifo.onnx is a FIFO (named pipe); expected a regular file'],
    [['predict', 'zero.onnx', anImage], 'model zero.onnx is a character device; expected a regular file'],
    [['predict', 'fifo.safetensors', anImage], 'fifo.safetensors is a FIFO (named pipe); expected a regular file'],
    [['weights', 'inspect', 'fifo.safetensors'], 'fifo.safetensors is a FIFO (named pipe); expected a regular file'],
    [['benchmark', 'coco', '--gt', 'fifo.json', '--dt', 'fifo.json'], 'fifo.json is a FIFO (named pipe); expected a regular file'],
    [['data', 'inspect', 'fifo.json'], 'fifo.json is a FIFO (named pipe); expected a regular file'],
    [['predict', 'tfjs', anImage], 'weight shard "../../../../../../../../../../dev/zero" is not a file name inside'],
    [['predict', 'tfjs-bad', anImage], 'weightsManifest[0]: expected an object with "paths" and "weights" arrays'],
  ])('cvw %j ends at once, naming the file', (args, message) => {
    const r = cvw(...args);
    expect(r.signal).toBeNull();
    expect(r.err).toContain(message);
    expect(r.err).not.toContain('internal error');
    expect(r.code).toBe(1);
  });

  it('an image that is a device is one bad item of `data inspect --check`, the others decode', () => {
    const r = cvw('data', 'inspect', 'images', '--check');
    expect(r.code).toBe(1);
    expect(r.out + r.err).toMatch(/zero\.png is a character device; expected a regular file/);
    expect(r.out + r.err).toMatch(/2 items decoded, 1 bad/);
    expect(r.err).not.toContain('internal error');
  });

  it('output paths that are a file or a folder: the path and what is wrong, no temporary file left', () => {
    expect(cvw('train', 'tiny.yaml', '--work-dir', 'afile')).toMatchObject({ code: 1, err: `cvw train: ${t.file('afile')}: exists, and is not a folder (mkdir)\n` });
    // Node's own recursive mkdir never returned here (src/core/makeDirs.ts).
    expect(cvw('train', 'tiny.yaml', '--work-dir', '/proc/cvw-x/run')).toMatchObject({ code: 1, err: 'cvw train: /proc/cvw-x: no such file or folder (mkdir)\n' });
    fs.mkdirSync(t.file('out.onnx'));
    const r = cvw('export', 'run', '-o', 'out.onnx');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/out\.onnx: is a folder; expected a file \(rename\)\n$/);
    expect(fs.readdirSync(t.dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('weights export reads on the cpu backend without tfjs\' advice to install tfjs-node on stderr', () => {
    fs.writeFileSync(t.file('tiny224.yaml'), fs.readFileSync(t.file('tiny.yaml'), 'utf8').replace('stem: cifar', 'stem: imagenet'));
    expect(cvw('train', 'tiny224.yaml', '--work-dir', 'run224').code).toBe(0);
    const r = cvw('weights', 'export', 'run224', '-o', 'tv.safetensors');
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(r.out).toMatch(/tv\.safetensors: backbone and classifier, \d+ tensors/);
  });

  it('override keys that name Object.prototype members are unknown keys, not crashes', () => {
    for (const [key, owner] of [['optimizer.hasOwnProperty', 'optimizer "SGD"'], ['model.toString', 'model "Classification"']]) {
      const r = cvw('validate', 'tiny.yaml', `--${key}`, '1');
      expect(r.code).toBe(1);
      expect(r.out).toContain(`error: --${key} 1: unknown key "${key.split('.')[1]}" in ${owner}`);
      expect(r.err).not.toContain('internal error');
    }
  });
});

describe('messages that name the real cause', () => {
  it.each([
    [['eval', 'nope.yaml'], 'cvw eval: nope.yaml: no such config file or run directory\n', 1],
    [['eval', 'images'], 'cvw eval: images: not a run directory (no run.json); give a run directory, or a config with --checkpoint\n', 1],
    [['extract', 'images'], 'cvw extract: images: not a run directory (no run.json); give a run directory or a checkpoint file\n', 1],
    [['benchmark', 'knn', 'images'], 'cvw benchmark knn: images: not a run directory (no run.json); give a run directory or a checkpoint file\n', 1],
    [['export', 'run', '--classes', 'names.txt', '-o', 'e.onnx'], 'cvw export: class names file not found: names.txt\n', 1],
    [['weights', 'convert', 'run/checkpoints/latest.safetensors', '--to', 'Nope'], 'cvw weights convert: --to Nope: expected one of ResNet, MobileNetV2, VisionTransformer, SwinTransformer, ConvNeXt, CSPDarknet, YOLOX\nRun `cvw weights convert --help` for usage.\n', 2],
    [['report', 'run', '--no-predict'], 'cvw report: --no-predict leaves nothing to do: add --html (the standalone HTML of what the run has) or --compare <run>\nRun `cvw report --help` for usage.\n', 2],
  ])('cvw %j', (args, message, code) => {
    expect(cvw(...args)).toMatchObject({ code, err: message });
  });

  it('a config without a model (an empty file validates) fails before a run directory is made', () => {
    fs.writeFileSync(t.file('empty.yaml'), '');
    expect(cvw('train', 'empty.yaml', '--work-dir', 'emptyrun')).toMatchObject({ code: 1, err: 'cvw train: empty.yaml: the config has no model: add a `model:` section with a type (e.g. Classification)\n' });
    expect(fs.existsSync(t.file('emptyrun'))).toBe(false);
    // Nor is it queued or submitted, to fail when the entry or the job starts.
    for (const [name, args] of [['queue add', ['queue', 'add', 'empty.yaml']], ['submit', ['submit', 'empty.yaml', '--dry-run']]] as const) {
      expect(cvw(...args)).toMatchObject({ code: 1, err: `cvw ${name}: empty.yaml: the config has no model: add a \`model:\` section with a type (e.g. Classification)\n` });
    }
    expect(fs.existsSync(t.file('work_dirs'))).toBe(false);
  });

  it('sizes past what can be allocated say which sizes to lower', () => {
    expect(cvw('export', 'run', '-o', 'huge.onnx', '--input-size', '100000x100000')).toMatchObject({
      code: 1,
      err: 'cvw export: a tensor too large to allocate (Invalid typed array length: 30000000000): lower the sizes that make it (image size, batch size, number of classes)\n',
    });
  });

  it('eval of a checkpoint of no run writes no files beside it; of a run, into the run', () => {
    fs.mkdirSync(t.file('loose'));
    fs.copyFileSync(t.file('run/checkpoints/latest.safetensors'), t.file('loose/m.safetensors'));
    const loose = cvw('eval', 'tinyval.yaml', '--checkpoint', 'loose/m.safetensors');
    expect(loose.code, loose.err).toBe(0);
    expect(fs.existsSync(t.file('eval'))).toBe(false);
    expect(fs.readdirSync(t.file('loose'))).toEqual(['m.safetensors']);
    expect(cvw('eval', 'tinyval.yaml', '--checkpoint', 'run/checkpoints/latest.safetensors').code).toBe(0);
    expect(fs.readdirSync(t.file('run/eval'))).toContain('val_predictions.json');
  });

  it('a checkpoint outside a run directory asks for its config', () => {
    fs.copyFileSync(t.file('run/checkpoints/latest.safetensors'), t.file('loose.safetensors'));
    expect(cvw('train', '--resume', 'loose.safetensors')).toMatchObject({ code: 1, err: expect.stringContaining('cvw train: --resume loose.safetensors: a checkpoint outside a run directory holds no config; give the config too: cvw train <config> --resume loose.safetensors\n') });
  });

  it('a data config for `cvw data inspect` is read by the configs\' reader: file:line:column, its nesting bound', () => {
    fs.writeFileSync(t.file('deep.yaml'), `a: ${'['.repeat(5000)}${']'.repeat(5000)}\n`);
    expect(cvw('data', 'inspect', 'deep.yaml')).toMatchObject({ code: 1, err: 'deep.yaml:1:102: error: nested more than 100 levels deep (mappings and lists inside each other); a config needs a few levels\ncvw data inspect: 1 problem in the config\n' });
  });

  it('a second YAML document and a value JSON cannot spell are named as such', () => {
    fs.writeFileSync(t.file('multi.yaml'), 'seed: 1\n---\nseed: 2\n');
    expect(cvw('validate', 'multi.yaml').out).toBe('multi.yaml:2:1: error: invalid YAML: a second document (after `---`): a config file holds one\n');
    expect(cvw('validate', 'tiny.yaml', '--optimizer.lr', '.inf').out).toBe('<command line>: error: --optimizer.lr .inf: optimizer.lr: expected number > 0, got Infinity\n');
  });
});
