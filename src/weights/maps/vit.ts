/**
 * Vision Transformers: timm's names (`vit_*_patch16_224`: patch_embed.proj, cls_token, pos_embed,
 * blocks.N.{norm1,attn.qkv,attn.proj,norm2,mlp.fc1,mlp.fc2}, norm, head) and torchvision's
 * (`vit_b_16`: conv_proj, class_token, encoder.pos_embedding, encoder.layers.encoder_layer_N.{ln_1,
 * self_attention.in_proj_*, self_attention.out_proj, ln_2, mlp.0, mlp.3}, encoder.ln, heads.head)
 * to the toolkit's VisionTransformer. The fused qkv projection keeps its layout (q, k, v blocks of
 * heads), so it is one linear transpose. Position embeddings made for another grid are resampled
 * bicubically, as timm (align_corners false) and torchvision (true) do.
 */
import type { WeightTensor } from '../tensor';
import { prefixRules, type Detected, type WeightMap } from './types';

interface Names {
  format: 'timm' | 'torchvision';
  patch: string;
  block: (i: number) => string;
  rules: Array<[string, string]>;
  /** Within a block: foreign part -> toolkit part. */
  parts: Array<[string, string]>;
  alignCorners: boolean;
}

const TIMM: Names = {
  format: 'timm',
  patch: 'patch_embed.proj.weight',
  block: (i) => `blocks.${i}.`,
  rules: [
    ['patch_embed.proj.*', 'backbone.patch_embed.*'],
    ['cls_token', 'backbone.cls_token'],
    ['pos_embed', 'backbone.pos_embed'],
    ['norm.*', 'backbone.norm.*'],
    ['head.*', 'head.fc.*'],
  ],
  parts: [['*', '*']],
  alignCorners: false,
};

const TORCHVISION: Names = {
  format: 'torchvision',
  patch: 'conv_proj.weight',
  block: (i) => `encoder.layers.encoder_layer_${i}.`,
  rules: [
    ['conv_proj.*', 'backbone.patch_embed.*'],
    ['class_token', 'backbone.cls_token'],
    ['encoder.pos_embedding', 'backbone.pos_embed'],
    ['encoder.ln.*', 'backbone.norm.*'],
    ['heads.head.*', 'head.fc.*'],
  ],
  parts: [
    ['ln_1.*', 'norm1.*'],
    ['self_attention.in_proj_weight', 'attn.qkv.weight'],
    ['self_attention.in_proj_bias', 'attn.qkv.bias'],
    ['self_attention.out_proj.*', 'attn.proj.*'],
    ['ln_2.*', 'norm2.*'],
    ['mlp.0.*', 'mlp.fc1.*'],
    ['mlp.3.*', 'mlp.fc2.*'],
  ],
  alignCorners: true,
};

function vitMap(names: Names): WeightMap {
  const top = prefixRules(names.rules);
  const part = prefixRules(names.parts);
  const foreignBlock = new RegExp(`^${names.block(999).replace('999', '(\\d+)').replace(/\./g, '\\.')}(.*)$`);
  const toolkitBlock = /^backbone\.blocks\.(\d+)\.(.*)$/;
  const depthOf = (tensors: Map<string, WeightTensor>) => {
    let n = 0;
    while ([...tensors.keys()].some((k) => k.startsWith(names.block(n)))) n++;
    return n;
  };
  return {
    backbone: 'VisionTransformer',
    formats: [names.format],
    toToolkit(name) {
      const m = foreignBlock.exec(name);
      if (m) {
        const p = part.toToolkit(m[2]);
        return p === undefined ? undefined : `backbone.blocks.${m[1]}.${p}`;
      }
      return top.toToolkit(name);
    },
    toForeign(name) {
      const m = toolkitBlock.exec(name);
      if (m) {
        const p = part.toForeign(m[2]);
        return p === undefined ? undefined : `${names.block(Number(m[1]))}${p}`;
      }
      return top.toForeign(name);
    },
    detect(tensors): Detected | undefined {
      const patch = tensors.get(names.patch);
      const pos = tensors.get(names.format === 'timm' ? 'pos_embed' : 'encoder.pos_embedding');
      if (!patch || patch.shape.length !== 4 || !pos || pos.shape.length !== 3) return undefined;
      const [dim, inC, p] = patch.shape;
      const depth = depthOf(tensors);
      const fc1 = tensors.get(`${names.block(0)}${names.format === 'timm' ? 'mlp.fc1.weight' : 'mlp.0.weight'}`);
      const grid = Math.round(Math.sqrt(pos.shape[1] - 1));
      const heads = vitHeads(dim);
      const detected: Detected = {
        variant: `ViT ${dim}-wide, ${depth} blocks, patch ${p}, ${grid * p} px (${names.format} names; ${heads} heads assumed, ${dim / heads} dimensions each)`,
        backbone: {
          type: 'VisionTransformer',
          arch: 'custom',
          embed_dim: dim,
          depth,
          num_heads: heads,
          patch_size: p,
          img_size: grid * p,
          in_channels: inC,
          mlp_ratio: fc1 ? fc1.shape[0] / dim : 4,
          qkv_bias: tensors.has(`${names.block(0)}${names.format === 'timm' ? 'attn.qkv.bias' : 'self_attention.in_proj_bias'}`),
        },
        numClasses: tensors.get(names.format === 'timm' ? 'head.weight' : 'heads.head.weight')?.shape[0],
      };
      if (grid * grid + 1 !== pos.shape[1]) detected.unsupported = `its position embeddings (${pos.shape[1]}) are not a class token and a square grid (timm models without a class token or with register tokens are not mapped)`;
      return detected;
    },
    adapt(name, t, shape) {
      if (name !== 'backbone.pos_embed' || t.shape.length !== 3 || shape.length !== 3 || t.shape[2] !== shape[2]) return undefined;
      return resamplePositions(t, Math.round(Math.sqrt(shape[1] - 1)), names.alignCorners);
    },
  };
}

/**
 * The heads of a published ViT of this width: they are not in the weights (one fused qkv
 * projection). timm's and torchvision's models use 64 dimensions per head except the widest:
 * ViT-H (1280), ViT-g (1408) and ViT-G (1664) have 16 heads. Other widths not a multiple of 64
 * get the most heads of at least 64 dimensions that divide the width.
 */
export function vitHeads(dim: number): number {
  const wide: Record<number, number> = { 1280: 16, 1408: 16, 1664: 16 };
  if (wide[dim]) return wide[dim];
  for (let h = Math.max(1, Math.floor(dim / 64)); h > 1; h--) if (dim % h === 0) return h;
  return 1;
}

/** PyTorch's bicubic kernel (a = -0.75) weights for a sample at fractional offset `f`. */
function cubicWeights(f: number): number[] {
  const a = -0.75;
  const near = (x: number) => ((a + 2) * x - (a + 3)) * x * x + 1;
  const far = (x: number) => ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
  return [far(f + 1), near(f), near(1 - f), far(2 - f)];
}

/** Resample a [1, 1 + g*g, D] position embedding to a new x new grid (class token kept). */
export function resamplePositions(t: WeightTensor, size: number, alignCorners: boolean): WeightTensor {
  const [, n, d] = t.shape;
  const g = Math.round(Math.sqrt(n - 1));
  const src = t.values as Float32Array;
  const out = new Float32Array((1 + size * size) * d);
  out.set(src.subarray(0, d));
  // Separable: along x into a g x size grid, then along y.
  const axis = (inLen: number, outLen: number) =>
    Array.from({ length: outLen }, (_, o) => {
      const x = alignCorners ? (outLen > 1 ? (o * (inLen - 1)) / (outLen - 1) : 0) : ((o + 0.5) * inLen) / outLen - 0.5;
      const i = Math.floor(x);
      const w = cubicWeights(x - i);
      return [-1, 0, 1, 2].map((k, j) => [Math.min(Math.max(i + k, 0), inLen - 1), w[j]] as [number, number]);
    });
  const ax = axis(g, size);
  const tmp = new Float32Array(g * size * d);
  for (let y = 0; y < g; y++)
    for (let x = 0; x < size; x++)
      for (const [sx, w] of ax[x]) {
        const from = (1 + y * g + sx) * d;
        const to = (y * size + x) * d;
        for (let c = 0; c < d; c++) tmp[to + c] += w * src[from + c];
      }
  for (let y = 0; y < size; y++)
    for (const [sy, w] of ax[y])
      for (let x = 0; x < size; x++) {
        const from = (sy * size + x) * d;
        const to = (1 + y * size + x) * d;
        for (let c = 0; c < d; c++) out[to + c] += w * tmp[from + c];
      }
  return { shape: [1, 1 + size * size, d], values: out, stored: t.stored };
}

export const vitTimmMap = vitMap(TIMM);
export const vitTorchvisionMap = vitMap(TORCHVISION);
