/**
 * `model.pretrained` with torchvision-named weights in a real training run: the backbone starts from
 * the file, the run log lists what loaded and what did not, and a file that does not fit stops the
 * run with the key and both shapes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { useCpu } from '../helpers/tf';
import { tempFiles } from '../helpers/tmp';
import { tinyClassificationYaml } from '../helpers/tinyConfig';
import { writeForeignWeights } from '../helpers/foreignWeights';
import { train } from '../../src/train/train';
import { readWeights } from '../../src/weights/read';
import { permute } from '../../src/weights/layout';
import { ConfigError } from '../../src/core/problems';
import { crashPlaces } from '../../src/runs/crash';
import { cvw } from '../helpers/cvw';

const t = tempFiles({});
const weights = t.file('resnet18_w4.safetensors');
const weights3 = t.file('resnet18_w4_3classes.safetensors');

/** torchvision names and layouts for a narrow ResNet-18 with a `classes`-class classifier. */
function writeTorchvisionResNet(file: string, classes: number): void {
  writeForeignWeights(file, { type: 'Classification', backbone: { type: 'ResNet', depth: 18, base_width: 4 }, head: { type: 'ClsHead', num_classes: classes } });
}

beforeAll(async () => {
  await useCpu();
  writeTorchvisionResNet(weights, 10);
  writeTorchvisionResNet(weights3, 3);
});
afterAll(() => t.cleanup());

function config(baseWidth: number, how = `pretrained: ${weights}`): string {
  const yaml = tinyClassificationYaml({ seed: 1, runner: 'max_iters: 1, log_interval: 1', extra: how.startsWith('load_from') ? how : '' })
    .replace('backbone: { type: ResNet, depth: 18, stem: cifar, base_width: 4 }', `backbone: { type: ResNet, depth: 18, stem: imagenet, in_channels: 3, base_width: ${baseWidth} }${how.startsWith('pretrained') ? `\n  ${how}` : ''}`)
    .replace('head: { type: ClsHead }', 'head: { type: ClsHead, num_classes: 3 }')
    .replace('optimizer: { type: SGD, lr: 0.02 }', 'optimizer: { type: SGD, lr: 1.0e-9 }');
  const file = t.file(`w${baseWidth}${how.startsWith('load_from') ? '_load_from' : ''}.yaml`);
  fs.writeFileSync(file, yaml);
  return file;
}

describe('model.pretrained with torchvision weights', () => {
  it('starts the backbone from the file and logs loaded, missing and unexpected keys', async () => {
    const dir = t.file('run');
    const result = await train(config(4), { workDir: dir, quiet: true });
    expect(result.status).toBe('finished');
    const log = fs.readFileSync(path.join(dir, 'log.txt'), 'utf8');
    expect(log).toMatch(/model\.pretrained: loaded 100 tensors from .*resnet18_w4\.safetensors; missing \(kept as initialised\): none; unexpected \(not loaded\): fc\.bias, fc\.weight/);
    // After one step at a learning rate of 1e-9 the weights are the file's, in the toolkit's layout.
    const file = readWeights(weights).tensors.get('layer3.1.conv2.weight')!;
    const saved = readWeights(path.join(dir, 'checkpoints', 'latest.safetensors')).tensors.get('model.backbone.layer3.1.conv2.weight')!;
    const want = permute(file, [2, 3, 1, 0]);
    expect(saved.shape).toEqual(want.shape);
    let diff = 0;
    for (let i = 0; i < want.values.length; i++) diff = Math.max(diff, Math.abs(saved.values[i] - want.values[i]));
    expect(diff).toBeLessThan(1e-6);
  }, 120_000);

  it('load_from takes torchvision weights too (backbone and classifier)', async () => {
    const dir = t.file('run_load_from');
    const result = await train(config(4, `load_from: ${weights3}`), { workDir: dir, quiet: true });
    expect(result.status).toBe('finished');
    const log = fs.readFileSync(path.join(dir, 'log.txt'), 'utf8');
    expect(log).toMatch(/loaded weights from .*resnet18_w4_3classes\.safetensors\n/);
    const file = readWeights(weights3).tensors.get('fc.weight')!;
    const saved = readWeights(path.join(dir, 'checkpoints', 'latest.safetensors')).tensors.get('model.head.fc.weight')!;
    const want = permute(file, [1, 0]);
    let diff = 0;
    for (let i = 0; i < want.values.length; i++) diff = Math.max(diff, Math.abs(saved.values[i] - want.values[i]));
    expect(diff).toBeLessThan(1e-6);
  }, 120_000);

  it('stops a run whose backbone does not fit the file: the key, both shapes, and the config line and column of pretrained (CLI and editor)', async () => {
    const file = config(8);
    expect(fs.readFileSync(file, 'utf8').split('\n')[6]).toBe(`  pretrained: ${weights}`);
    const message = `${file}:7:3: error: model.pretrained: ${weights}: "conv1.weight" has shape [7,7,3,4] (in the toolkit's layout, as "backbone.stem.0.conv.weight") but the model's "backbone.stem.0.conv.weight" is [7,7,3,8]; check the backbone's depth, widths and in_channels against the file (\`cvw weights inspect ${weights}\`)`;
    const dir = t.file('bad');
    const error = await train(file, { workDir: dir, quiet: true }).then(() => undefined, (e: Error) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect(error!.message).toBe(message);
    expect((error as ConfigError).problems[0]).toMatchObject({ path: 'model.pretrained', range: { start: { line: 6, character: 2 } } });
    // The editor's crash diagnostics read the failed run's error stack (CrashDiagnostics.reportRun for a
    // run whose output it did not see): one problem on that line and column.
    const info = JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8')) as { status: string; error: { message: string; stack?: string } };
    expect(info.status).toBe('failed');
    expect(info.error.stack).toMatch(/^ConfigError: /);
    const places = crashPlaces(info.error.stack!, { cwd: t.dir, toolkitRoots: [path.resolve(__dirname, '../..')], message: info.error.message });
    expect(places).toEqual([expect.objectContaining({ file, line: 7, column: 3, severity: 'error', message: message.slice(`${file}:7:3: error: `.length) })]);
    // The CLI prints it as compilers do.
    const r = await cvw('train', file, '--work-dir', t.file('bad_cli'));
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${message}\ncvw train: 1 problem in the config\n`);
  }, 120_000);

  it('load_from: a checkpoint that does not fit stops the run at the load_from line, naming the key and both shapes', async () => {
    const file = config(8, `load_from: ${weights3}`);
    const line = fs.readFileSync(file, 'utf8').split('\n').indexOf(`load_from: ${weights3}`) + 1;
    expect(line).toBeGreaterThan(0);
    await expect(train(file, { workDir: t.file('bad_load_from'), quiet: true })).rejects.toThrow(
      `${file}:${line}:1: error: load_from: ${weights3}: "conv1.weight" has shape [7,7,3,4] (in the toolkit's layout, as "model.backbone.stem.0.conv.weight") but the model's is [7,7,3,8]; the checkpoint was made for another model config`,
    );
  }, 120_000);
});
