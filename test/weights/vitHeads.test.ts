/** The heads a ViT's weights are read with: not stored in the weights, so told from the width. */
import { describe, expect, it } from 'vitest';
import { vitHeads, vitTimmMap, vitTorchvisionMap } from '../../src/weights/maps/vit';
import type { WeightTensor } from '../../src/weights/tensor';

const shape = (...s: number[]): WeightTensor => ({ shape: s, values: new Float32Array(0), stored: 'F32' });

/** The tensors detection looks at, in timm's names, of a ViT of this width, depth and mlp width. */
function timmShapes(dim: number, depth: number, mlp: number, patch = 14, grid = 16): Map<string, WeightTensor> {
  const out = new Map<string, WeightTensor>([
    ['patch_embed.proj.weight', shape(dim, 3, patch, patch)],
    ['pos_embed', shape(1, grid * grid + 1, dim)],
    ['head.weight', shape(1000, dim)],
  ]);
  for (let b = 0; b < depth; b++) {
    out.set(`blocks.${b}.attn.qkv.weight`, shape(3 * dim, dim));
    out.set(`blocks.${b}.attn.qkv.bias`, shape(3 * dim));
    out.set(`blocks.${b}.mlp.fc1.weight`, shape(mlp, dim));
  }
  return out;
}

describe('ViT heads', () => {
  it("are timm's and torchvision's for every published width", () => {
    // tiny, small, medium, base, large: 64 dimensions a head; huge, giant, gigantic: 16 heads.
    const published: Array<[number, number]> = [[192, 3], [384, 6], [512, 8], [768, 12], [1024, 16], [1280, 16], [1408, 16], [1536, 24], [1664, 16]];
    expect(published.map(([dim]) => [dim, vitHeads(dim)])).toEqual(published);
    // Another width: the most heads of at least 64 dimensions that divide it.
    expect([vitHeads(96), vitHeads(200), vitHeads(576)]).toEqual([1, 2, 9]);
  });

  it('of a ViT-H/14 (timm vit_huge_patch14_224) are 16, and the variant says 80 dimensions each', () => {
    const d = vitTimmMap.detect(timmShapes(1280, 32, 5120))!;
    expect(d.backbone).toMatchObject({ type: 'VisionTransformer', arch: 'custom', embed_dim: 1280, depth: 32, num_heads: 16, patch_size: 14, img_size: 224, mlp_ratio: 4 });
    expect(d.variant).toContain('16 heads assumed, 80 dimensions each');
    expect(vitTorchvisionMap.detect(timmShapes(1280, 1, 5120))).toBeUndefined(); // timm names are not torchvision's
  });
});
