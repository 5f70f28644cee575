/**
 * `cvw summary`: MACs counted from the engine's kernel records against torchvision's ResNet-18
 * counted by PyTorch hooks and a ViT-S/16 counted by hand (attention's matrix products included);
 * parameters per module; the step memory's line through one and two samples against a step of
 * eight measured.
 */
import { describe, expect, it } from 'vitest';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '../../src/builtins';
import { initEngine } from '../../src/engine';
import { buildModel } from '../../src/models/buildModel';
import { kernelMacs, macsOf, summarizeModel } from '../../src/train/modelSummary';
import { cvw } from '../helpers/cvw';
import { ROOT } from '../export/helpers';
import { pythonHas, runPython } from '../data/python';

const CLS_SAMPLE = path.join(ROOT, 'configs/classification/resnet18_fashion_mnist_sample.yaml');

describe('summary', () => {
  it('counts multiply-adds of convolutions, depthwise convolutions and (batched, broadcast, transposed) matrix products', () => {
    expect(kernelMacs({ name: 'Conv2D', inputShapes: [[2, 8, 8, 3], [3, 3, 3, 16]], outputShapes: [[2, 8, 8, 16]] })).toBe(2 * 8 * 8 * 16 * 27);
    expect(kernelMacs({ name: 'FusedDepthwiseConv2D', inputShapes: [[1, 8, 8, 16], [7, 7, 16, 1]], outputShapes: [[1, 8, 8, 16]] })).toBe(8 * 8 * 16 * 49);
    expect(kernelMacs({ name: 'BatchMatMul', inputShapes: [[4, 5, 6], [4, 6, 7]], outputShapes: [[4, 5, 7]] })).toBe(4 * 5 * 7 * 6);
    // a transposed ([k, m]) and b broadcast over the batch.
    expect(kernelMacs({ name: '_FusedMatMul', inputShapes: [[4, 6, 5], [6, 7]], outputShapes: [[4, 5, 7]] })).toBe(4 * 5 * 7 * 6);
    expect(kernelMacs({ name: 'Add', inputShapes: [[4, 5], [4, 5]], outputShapes: [[4, 5]] })).toBe(0);
  });

  it.skipIf(!pythonHas('torch', 'torchvision'))("a ResNet-18 at 224x224 costs torchvision's ResNet-18 convolutions, as PyTorch hooks count them", async () => {
    await initEngine({ backend: 'wasm-ort' });
    const torchMacs = Number(
      runPython(`import torch, torchvision
m = torchvision.models.resnet18().eval(); total = [0]
def hook(mod, inp, out): total[0] += out.numel() * mod.in_channels // mod.groups * mod.kernel_size[0] * mod.kernel_size[1]
for mod in m.modules():
    if isinstance(mod, torch.nn.Conv2d): mod.register_forward_hook(hook)
with torch.no_grad(): m(torch.zeros(1, 3, 224, 224))
print(total[0])`).trim(),
    );
    // With its 512 x 1000 classifier: the 1.81 G torchvision publishes for it (its _ops, counted as MACs).
    expect(torchMacs + 512 * 1000).toBe(1_814_073_344);
    const model = buildModel({ type: 'Classification', backbone: { type: 'ResNet', depth: 18 }, head: { type: 'ClsHead', num_classes: 1000 } }, { purpose: 'train', seed: 0 }).train(false);
    const x = tf.zeros([1, 224, 224, 3]) as tf.Tensor4D;
    expect(await macsOf(() => model.extract(x).dispose())).toBe(torchMacs);
    x.dispose();
    model.dispose();
  });

  it('a ViT-S/16 at 224x224 costs its patch embedding, projections, MLPs and both attention products', async () => {
    await initEngine({ backend: 'wasm-ort' });
    const model = buildModel({ type: 'Classification', backbone: { type: 'VisionTransformer', arch: 'small', img_size: 224, patch_size: 16 }, head: { type: 'ClsHead', num_classes: 10 } }, { purpose: 'train', seed: 0 }).train(false);
    const [N, D, H, d] = [197, 384, 6, 64];
    const block = N * D * 3 * D + 2 * H * N * N * d + N * D * D + 2 * N * D * 4 * D;
    const x = tf.zeros([1, 224, 224, 3]) as tf.Tensor4D;
    expect(await macsOf(() => model.extract(x).dispose())).toBe(196 * D * 16 * 16 * 3 + 12 * block);
    x.dispose();
    model.dispose();
  });

  it("lists the modules with their parameters, and draws the step's memory at the batch size from one and two samples", async () => {
    const s = await summarizeModel(CLS_SAMPLE, { engine: { backend: 'wasm-ort' } });
    expect(s.algorithm).toBe('Classification');
    expect(s.views).toEqual(['28x28x1']);
    expect(s.modules.filter((r) => r.depth === 1).map((r) => r.name)).toEqual(['backbone', 'head']);
    expect(s.modules.filter((r) => r.depth === 1).reduce((n, r) => n + r.params, 0)).toBe(s.params);
    expect(s.modules.find((r) => r.name === 'backbone.layer1')?.type).toBe('Sequential');
    // One view through the backbone and its linear head (512 x 10 multiply-adds: its weights but the biases).
    const head = s.modules.find((r) => r.name === 'head')!;
    expect(s.step.macs).toBe(s.backboneMacs + head.params - 10);
    expect(s.estimateBytes).toBe(4 * (s.params + s.buffers + s.optimizerSlots * s.trainable) + s.step.fixed + s.batchSize * s.step.perSample);
    expect(s.step.perSample).toBeGreaterThan(0);
    // The line through one and two samples predicts a step of eight, measured.
    const eight = await summarizeModel(CLS_SAMPLE, { engine: { backend: 'wasm-ort' }, measureAt: [1, 2, 8] });
    const measured = eight.step.peaks.find((p) => p.batch === 8)!.bytes;
    expect(Math.abs(eight.step.fixed + 8 * eight.step.perSample - measured) / measured).toBeLessThan(0.1);
  });

  it('prints the table and the estimate; --json the same numbers', async () => {
    const text = await cvw('summary', CLS_SAMPLE, '--depth', '1', '--backend', 'wasm-ort');
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/^Classification on wasm \(wasm-ort\)\nmodule +type +parameters +trainable\nbackbone +ResNet +[\d,]+ +[\d,]+\nhead +ClsHead +[\d,]+ +[\d,]+\ntotal /);
    expect(text.out).toMatch(/\nviews of a sample: 28x28x1\nbackbone: [\d.]+ GMACs per 28x28x1 image; training step forward: [\d.]+ GMACs per sample/);
    // On the wasm engine the estimate is held against its 4.29 GB heap, not the machine's memory.
    expect(text.out).toMatch(/\nat data\.train\.batch_size 64: about [\d.]+ GB of tensors, within the wasm engine's 4\.29 GB \(the most its memory can grow to\)\n$/);
    const json = await cvw('summary', CLS_SAMPLE, '--json', '--data.train.batch_size', '100000', '--backend', 'wasm-ort');
    const s = JSON.parse(json.out);
    expect(s.batchSize).toBe(100000);
    expect(s.modules.map((r: { name: string }) => r.name)).toContain('backbone.layer4');
    // A batch that cannot fit is said so, with what to do.
    expect((await cvw('summary', CLS_SAMPLE, '--data.train.batch_size', '10000000', '--backend', 'wasm-ort')).out).toMatch(/more than 90% of the wasm engine's 4\.29 GB \(the most its memory can grow to\): lower the batch size, or accumulate \(runner\.accumulate_steps\)\n$/);
    // On the cpu backend, against the machine's memory (half of it: the data workers and the process need theirs).
    expect((await cvw('summary', CLS_SAMPLE, '--data.train.batch_size', '10000000', '--backend', 'cpu')).out).toMatch(/more than 50% of (this machine's|its control group's) [\d.]+ GB.*: lower the batch size/);
  });
});
