/**
 * A segmentor through ONNX export (logits at the input size and the argmax mask, both in the
 * graph, checked against the toolkit), the Segmenter predictor and `cvw predict --draw`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as path from 'node:path';
import '../../src/builtins';
import { exportModel } from '../../src/export/exportModel';
import { ensureBackend } from '../../src/export/source';
import { tempFiles } from '../helpers/tmp';
import { makeRun, onnxCheck } from '../export/helpers';
import { Segmenter } from '../../src/export/predict';
import { decodeMaskPng, vocPalette } from '../../src/data/masks/png';
import sharp from 'sharp';
import { cvw } from '../helpers/cvw';
import * as fs from 'node:fs';
import { pythonHas, runPython } from '../data/python';

const hasTorch = pythonHas('torch');

const t = tempFiles({});
afterAll(() => t.cleanup());

describe('EncoderDecoder export', () => {
  beforeAll(async () => {
    await ensureBackend('wasm');
    makeRun(
      path.join(t.dir, 'seg'),
      `model:
  type: EncoderDecoder
  backbone: { type: ResNet, depth: 18, base_width: 8, out_indices: [2, 3], output_stride: 8 }
  decode_head: { type: FCNHead, num_classes: 4, channels: 8 }
data:
  workers: 0
  val:
    type: SegDataset
    source: { type: SegFolder, img_dir: data/shapes-seg-sample/val, mask_dir: data/shapes-seg-sample/masks/val }
    pipeline: [{ type: ToTensor }, { type: Normalize }]
`,
    ).dispose();
  });

  it('exports logits [N, 64, 64, 4] and mask [N, 64, 64] resized in the graph; the export matches the toolkit and the checker accepts it', async () => {
    const onnx = path.join(t.dir, 'seg.onnx');
    const r = await exportModel(path.join(t.dir, 'seg', 'run'), { format: 'onnx', out: onnx, layout: 'NHWC' });
    expect(r.metadata.task).toBe('segmentation');
    expect(r.metadata.classes).toEqual(['background', 'circle', 'square', 'triangle']);
    expect(r.metadata.outputs.logits.shape).toEqual(['N', 64, 64, 4]);
    expect(r.metadata.outputs.mask.shape).toEqual(['N', 64, 64]);
    expect(r.verified!.maxAbsDiff).toBeLessThan(1e-3);
    expect(onnxCheck(onnx)).toBe('');
  });

  it('the Segmenter gives the same masks from the ONNX file and the run itself, at each image\'s own size', async () => {
    const run = path.join(t.dir, 'seg', 'run');
    const onnx = path.join(t.dir, 'seg.onnx');
    const images = [0, 1, 2].map((i) => path.join('data/shapes-seg-sample/val', `00000${i}.png`));
    const fromOnnx = await new Segmenter(onnx).predict(images);
    const fromRun = await new Segmenter(run).predict(images);
    for (const [k, r] of fromOnnx.entries()) {
      expect([r.width, r.height]).toEqual([64, 64]);
      expect(r.classes).toEqual(['background', 'circle', 'square', 'triangle']);
      expect(r.mask.every((v) => v < 4)).toBe(true);
      let same = 0;
      r.mask.forEach((v, i) => (same += v === fromRun[k].mask[i] ? 1 : 0));
      // Engines round differently: a near tie may flip a pixel or two.
      expect(same / r.mask.length).toBeGreaterThan(0.99);
    }
    // A larger image is resized to the network input and its mask mapped back to 128 x 96.
    const big = { data: new Uint8Array(128 * 96 * 3).fill(100), width: 128, height: 96, channels: 3 };
    const [b] = await new Segmenter(onnx).predict([big]);
    expect([b.width, b.height, b.mask.length]).toEqual([128, 96, 128 * 96]);
  });

  it.skipIf(!hasTorch)("maps an image resized to the network input back with its logits resized bilinearly, as PyTorch's F.interpolate (mmsegmentation's inference)", async () => {
    const onnx = path.join(t.dir, 'seg.onnx');
    // The network sees 64 x 64: an image of 128 x 96 with edges everywhere (a sample scaled up).
    const { data, info } = await sharp('data/shapes-seg-sample/val/000001.png').resize(128, 96, { kernel: 'nearest' }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const image = { data: new Uint8Array(data), width: info.width, height: info.height, channels: 3 };
    let seen: Float32Array | Int32Array | undefined;
    class Spy extends Segmenter {
      protected override postprocess(...args: Parameters<Segmenter['postprocess']>) {
        seen = args[0].logits.data;
        return super.postprocess(...args);
      }
    }
    const [r] = await new Spy(onnx).predict([image]);
    const expected = runPython(
      `import sys, json, torch, torch.nn.functional as F
x = torch.tensor(json.load(sys.stdin), dtype=torch.float32).reshape(1, 64, 64, 4).permute(0, 3, 1, 2)
y = F.interpolate(x, size=(96, 128), mode='bilinear', align_corners=False)
print(json.dumps(y.argmax(1).flatten().tolist()))`,
      [],
      JSON.stringify(Array.from(seen!)),
    );
    const torchMask = JSON.parse(expected) as number[];
    let same = 0;
    torchMask.forEach((c, i) => (same += c === r.mask[i] ? 1 : 0));
    // Float rounding may flip a near tie or two (the nearest pixel's argmax, as before, differed at 226 of 12,288).
    expect(same).toBeGreaterThanOrEqual(torchMask.length - 2);
  });

  it('cvw predict prints the class shares of each image and --draw writes the masks the Segmenter gives and their colour overlays', async () => {
    const onnx = path.join(t.dir, 'seg.onnx');
    const drawn = path.join(t.dir, 'drawn');
    const img = path.join('data/shapes-seg-sample/val', '000001.png');
    const r = await cvw('predict', onnx, img, '--draw', drawn, '--json');
    expect(r.code).toBe(0);
    const [row] = JSON.parse(r.out);
    expect(row.classes.map((c: { name: string }) => c.name)).toEqual(['background', 'circle', 'square', 'triangle']);
    expect(row.classes.reduce((a: number, c: { pixels: number }) => a + c.pixels, 0)).toBe(64 * 64);
    const mask = decodeMaskPng(fs.readFileSync(path.join(drawn, '000001.png')));
    const [expected] = await new Segmenter(onnx).predict([img]);
    expect(Buffer.from(mask.data).equals(Buffer.from(expected.mask))).toBe(true);
    // The overlay: at every pixel half the image, half the VOC colour of the predicted class.
    const { data: over, info } = await sharp(path.join(drawn, '000001-overlay.png')).raw().toBuffer({ resolveWithObject: true });
    const { data: image } = await sharp(img).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height, info.channels]).toEqual([64, 64, 3]);
    const voc = vocPalette();
    for (let i = 0; i < 64 * 64; i++) {
      const k = expected.mask[i];
      for (let c = 0; c < 3; c++) expect(over[3 * i + c]).toBe(Math.round(0.5 * image[3 * i + c] + 0.5 * voc[3 * k + c]));
    }
    const text = await cvw('predict', onnx, img);
    expect(text.out).toMatch(/000001\.png +(background|circle|square|triangle) \d+\.\d%/);
  });
});
