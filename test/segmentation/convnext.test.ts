/**
 * ConvNeXt as a segmentation encoder (UPerNet on its four stages, as mmsegmentation's
 * upernet_convnext): with `gap_before_final_norm: false` it returns normalised maps and trains
 * through the runner, also without an auxiliary head (whose absence made the loss and its log one
 * tensor, disposed before it was read); with the default pooled features it is refused, saying what
 * to set.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { useCpu } from '../helpers/tf';
import { tempFiles } from '../helpers/tmp';
import '../../src/builtins';
import { train } from '../../src/train/train';

const root = path.resolve(__dirname, '../..');
const data = path.join(root, 'data', 'shapes-seg-sample');
const config = (backbone: string) => `model:
  type: EncoderDecoder
  backbone: { type: ConvNeXt, arch: custom, depths: [1, 1, 2, 1], dims: [8, 16, 32, 64], out_indices: [0, 1, 2, 3]${backbone} }
  decode_head: { type: UPerHead, channels: 16 }
data:
  workers: 0
  train:
    type: SegDataset
    batch_size: 4
    source: { type: SegFolder, img_dir: ${data}/train, mask_dir: ${data}/masks/train }
    pipeline: [{ type: RandomResizedCrop, size: 64 }, { type: ToTensor }, { type: Normalize }]
optimizer: { type: AdamW, lr: 1.0e-3 }
runner: { max_iters: 2, log_interval: 1 }
`;
const t = tempFiles({ 'maps.yaml': config(', gap_before_final_norm: false'), 'pooled.yaml': config('') });

beforeAll(async () => {
  await useCpu();
});
afterAll(() => t.cleanup());

describe('ConvNeXt + UPerHead, no auxiliary head', () => {
  it('trains on normalised feature maps, logging the decode loss', async () => {
    const result = await train(t.file('maps.yaml'), { workDir: t.file('maps'), quiet: true });
    expect(result.status).toBe('finished');
    expect(result.iter).toBe(2);
    const records = fs.readFileSync(path.join(result.runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const logged = records.filter((r) => typeof r.loss_decode === 'number');
    expect(logged).toHaveLength(2);
    for (const r of logged) expect(r.loss_decode).toBe(r.loss);
  });

  it('with pooled features (the default) is refused before its first step, saying what to set', async () => {
    await expect(train(t.file('pooled.yaml'), { workDir: t.file('pooled'), quiet: true })).rejects.toThrow(
      'model.backbone (ConvNeXt) returns pooled features [4, 8], and a segmentation head needs feature maps: set model.backbone.gap_before_final_norm: false',
    );
  });
});
