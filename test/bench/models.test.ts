/**
 * The model benchmark (bench/engine/models.ts, issue 24): the PyTorch peers build the toolkit's
 * architectures at full size — every parameter tensor the same size on both sides, and the same
 * totals as torchvision's own MobileNetV2, VisionTransformer and ConvNeXt-T — and the machinery (child
 * process, PyTorch first and last, the comparison of parameters, the profile) runs end to end at
 * batch 2.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { useCpu } from '../helpers/tf';
import { PYTHON, pythonHas, runPython } from '../data/python';
import { BENCH_MODELS, type BenchModelName } from '../../bench/engine/benchModels';
import { classifierStep } from '../../bench/engine/trainStep';
import { formatReport, measure, parameterMismatch, type BenchReport } from '../../bench/engine/models';

const hasTorch = pythonHas('torch', 'torchvision');
const benchDir = path.join(__dirname, '..', '..', 'bench', 'engine');

/** Parameter tensor sizes (ascending) of each PyTorch peer, and torchvision's totals for the same architectures. */
function torchCounts(): { peers: Record<BenchModelName, number[]>; torchvision: Partial<Record<BenchModelName, number>> } {
  const script = `
import json, sys
sys.path.insert(0, sys.argv[1])
import torchvision
from torchvision.models.vision_transformer import VisionTransformer as TvViT
from resnet18_torch import CifarResNet18
from mobilenetv2_torch import MobileNetV2
from vit_torch import VisionTransformer
import convnext_torch
from torchvision.models.convnext import ConvNeXt
sizes = lambda m: sorted(p.numel() for p in m.parameters())
print(json.dumps({
  "peers": {"resnet18": sizes(CifarResNet18()), "mobilenetv2": sizes(MobileNetV2()), "vit-s": sizes(VisionTransformer()), "convnext-t": sizes(ConvNeXt(convnext_torch.STAGES, num_classes=10))},
  "torchvision": {
    "mobilenetv2": sum(sizes(torchvision.models.mobilenet_v2(num_classes=10))),
    "vit-s": sum(sizes(TvViT(image_size=32, patch_size=4, num_layers=12, num_heads=6, hidden_dim=384, mlp_dim=1536, num_classes=10))),
    "convnext-t": sum(sizes(torchvision.models.convnext_tiny(num_classes=10))),
  },
}))
`;
  return JSON.parse(runPython(script, [benchDir]));
}

function toolkitSizes(name: BenchModelName): number[] {
  const { backbone, imageSize } = BENCH_MODELS[name];
  const bench = classifierStep(backbone, 1, 0, imageSize);
  const sizes = bench.model.namedParameters().map(([, p]) => p.variable.size);
  bench.dispose();
  return sizes.sort((a, b) => a - b);
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

describe.skipIf(!hasTorch)('the PyTorch peers are the toolkit models', () => {
  let torch: ReturnType<typeof torchCounts>;
  beforeAll(async () => {
    await useCpu();
    torch = torchCounts();
  }, 60_000);

  for (const name of Object.keys(BENCH_MODELS) as BenchModelName[]) {
    it(`${name}: every parameter tensor has the same size on both sides (full size)`, () => {
      const ours = toolkitSizes(name);
      expect(ours).toEqual(torch.peers[name]);
      const reference = torch.torchvision[name];
      if (reference !== undefined) expect(sum(ours)).toBe(reference);
    });
  }

  it('a benchmark run with different architectures on the two sides fails with both counts', () => {
    const ours = toolkitSizes('mobilenetv2');
    const theirs = ours.filter((n) => n !== 1280 * 10); // the head's weight left out
    const report = {
      options: { model: 'mobilenetv2' },
      results: [{ params: sum(ours), paramSizes: ours }],
      torch: [{ params: sum(theirs), param_sizes: theirs }],
    } as unknown as BenchReport;
    const why = parameterMismatch(report);
    expect(why).toContain(`${sum(ours).toLocaleString('en-US')} parameters in ${ours.length} tensors`);
    expect(why).toContain(`bench/engine/mobilenetv2_torch.py ${sum(theirs).toLocaleString('en-US')} in ${theirs.length}`);
    expect(why).toContain("Tensor sizes only in the toolkit's: [12800 x1]; only in PyTorch's: []");
    report.torch[0].param_sizes = ours;
    report.torch[0].params = sum(ours);
    expect(parameterMismatch(report)).toBeUndefined();
  });

  it('the ViT peer trains a step (stochastic depth, attention, GELU) at batch 1', () => {
    const r = spawnSync(PYTHON, [BENCH_MODELS['vit-s'].torchScript, '--batch', '1', '--steps', '1', '--warmup', '0', '--threads', '1'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.step_ms).toHaveLength(1);
    expect(out.samples_per_s).toBeGreaterThan(0);
    expect(out.params).toBe(sum(torch.peers['vit-s']));
  }, 60_000);
});

describe('the benchmark machinery', () => {
  it('measures MobileNetV2 on wasm-ort (and PyTorch, first and last) at batch 2, with the profile and the comparison of parameters', () => {
    const report = measure({ model: 'mobilenetv2', engines: ['wasm-ort'], batch: 2, steps: 1, warmup: 0, cpuBatch: 1, threads: 1, torch: hasTorch, torchMalloc: 'tuned' });
    expect(report.results).toHaveLength(1);
    const [r] = report.results;
    expect(r).toMatchObject({ engine: 'wasm-ort', batch: 2 });
    expect(r.stepMs).toHaveLength(1);
    expect(r.samplesPerS).toBeCloseTo(2000 / r.stepMs[0], 6);
    // The profiled step is MobileNetV2's: depthwise convolutions forward and backward, 52 batch
    // norms, ReLU6 inside them (fused: no Relu6 kernel of its own).
    const kernels = new Map(r.profile!.kernels.map((k) => [k.kernel, k.calls]));
    expect(kernels.get('DepthwiseConv2dNative')).toBe(17);
    expect(kernels.get('DepthwiseConv2dNativeBackpropFilter')).toBe(17);
    expect(kernels.get('CvwBatchNormTrain')).toBe(52);
    expect(kernels.has('Relu6')).toBe(false);
    expect(r.profile!.wallMs).toBeGreaterThan(0);
    // Measured as `cvw` runs the engine: under glibc's malloc tunables.
    expect(r.glibcTunables).toContain('glibc.malloc.trim_threshold=1073741824');
    const text = formatReport(report);
    expect(text).toContain('glibc malloc: the engines with the tunables `cvw` runs them with (glibc.malloc.trim_threshold=1073741824:');
    expect(text).toContain('MobileNetV2 (width 1.0, stem stride 1), 32x32');
    expect(text).toMatch(/\| wasm-ort \| 2 \| [\d.]+ s \| [\d.]+ \|/);
    expect(text).toContain('| DepthwiseConv2dNative');
    if (hasTorch) {
      expect(report.torch).toHaveLength(2);
      for (const t of report.torch) {
        expect(t.step_ms).toHaveLength(1);
        expect(t.samples_per_s).toBeCloseTo(2000 / t.step_ms[0], 6);
        expect(t.params).toBe(r.params);
      }
      expect(parameterMismatch(report)).toBeUndefined();
      expect(text).toMatch(/\| PyTorch [^|]+ CPU \(first\) \| 2 \|/);
      expect(text).toMatch(/\| PyTorch [^|]+ CPU \(last\) \| 2 \|/);
      expect(text).toContain(`PyTorch's BLAS: ${report.torch[0].blas}`);
      // MobileNetV2's convolutions run on PyTorch's oneDNN: its BLAS does not matter.
      expect(text).not.toContain('Not a valid comparison');
      // The ViT's matrix products do: the same report as the ViT's says so when they ran on the reference BLAS.
      const asVit = (blas: string) => formatReport({ ...report, options: { ...report.options, model: 'vit-s' }, torch: report.torch.map((t) => ({ ...t, blas })) });
      expect(asVit('/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0')).toContain('**Not a valid comparison:**');
      expect(asVit('/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3')).not.toContain('Not a valid comparison');
    }
  }, 120_000);
});
