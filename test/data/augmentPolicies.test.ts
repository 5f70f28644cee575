/**
 * AutoAugment and AugMix as timm's: a sub-policy of timm-named operations against PIL computing the
 * same chain, the shipped policies, the per-operation probabilities and the uniform choice of
 * sub-policy; AugMix's chains, depth and Beta-drawn blend read back from the pixels.
 */
import { describe, expect, it } from 'vitest';
import '../../src/builtins';
import { AUTO_AUGMENT_POLICIES } from '../../src/data/pipeline/autoAugment';
import { TIMM_OP_NAMES, timmOp } from '../../src/data/pipeline/augmentOps';
import { Random } from '../../src/core/random';
import { apply, grey, image, step } from './helpers';
import { pythonHas, runPython } from './python';

/** A 9x13 RGB image with some texture. */
function textured(): number[][][] {
  return Array.from({ length: 9 }, (_, y) => Array.from({ length: 13 }, (_, x) => [(x * 19 + y * 7) % 256, (y * 29 + 11) % 256, (x * y * 5 + 40) % 256]));
}

describe.skipIf(!pythonHas('PIL', 'numpy'))('AutoAugment against PIL', () => {
  it("a sub-policy of timm names gives PIL's chain: Equalize, PosterizeOriginal m8 (7 bits), SolarizeIncreasing m5 (from 128), Contrast m8 (1.54)", () => {
    const rows = textured();
    const pil = JSON.parse(
      runPython(
        `import json, sys, numpy as np
from PIL import Image, ImageOps, ImageEnhance
img = Image.fromarray(np.array(json.loads(sys.stdin.read()), dtype=np.uint8))
img = ImageOps.posterize(ImageOps.equalize(img), 7)
img = ImageEnhance.Contrast(ImageOps.solarize(img, 128)).enhance(1.54)
print(json.dumps(np.asarray(img).tolist()))`,
        [],
        JSON.stringify(rows),
      ),
    ) as number[][][];
    const sub = [['Equalize', 1, 3], ['PosterizeOriginal', 1, 8], ['SolarizeIncreasing', 1, 5], ['Contrast', 1, 8]];
    const got = apply(step('AutoAugment', { sub_policies: [sub] }), image(rows), 0).img.data;
    const want = pil.flat(2);
    expect(Math.max(...want.map((v, i) => Math.abs(got[i] - v)))).toBeLessThanOrEqual(2);
    expect(want.some((v, i) => v !== rows.flat(2)[i])).toBe(true);
  });
});

describe('AutoAugment', () => {
  it("ships timm's four ImageNet policies: 25 sub-policies of two operations each, every name an operation", () => {
    for (const [name, policy] of Object.entries(AUTO_AUGMENT_POLICIES)) {
      expect(policy, name).toHaveLength(25);
      for (const sub of policy) {
        expect(sub, name).toHaveLength(2);
        for (const [op, p, m] of sub) {
          expect(TIMM_OP_NAMES, name).toContain(op);
          expect(p).toBeGreaterThanOrEqual(0);
          expect(p).toBeLessThanOrEqual(1);
          expect(m).toBeLessThanOrEqual(10);
        }
      }
    }
    // The r variants: the research code's posterize where the others have theirs, nothing else changed.
    const ops = (policy: keyof typeof AUTO_AUGMENT_POLICIES) => AUTO_AUGMENT_POLICIES[policy].flat().map(([op]) => op);
    expect(ops('v0r').filter((op, i) => op !== ops('v0')[i])).toEqual(['PosterizeIncreasing', 'PosterizeIncreasing']);
    expect(new Set(ops('originalr').filter((op, i) => op !== ops('original')[i]))).toEqual(new Set(['PosterizeIncreasing']));
    expect(ops('original').filter((op) => op === 'PosterizeOriginal')).toHaveLength(5);
  });

  it("maps timm's posterize variants and increasing names as its level_to_arg does", () => {
    const rng = new Random(0);
    expect(timmOp('Posterize').arg(6, rng)).toBe(2);
    expect(timmOp('PosterizeIncreasing').arg(6, rng)).toBe(2);
    expect(timmOp('PosterizeOriginal').arg(6, rng)).toBe(6);
    expect(timmOp('Posterize').arg(10, rng)).toBe(4);
    expect(timmOp('PosterizeIncreasing').arg(10, rng)).toBe(0);
    expect(timmOp('Solarize').arg(3, rng)).toBe(76);
    expect(timmOp('SolarizeIncreasing').arg(3, rng)).toBe(180);
    expect(timmOp('Color').arg(0, rng)).toBeCloseTo(0.1, 10);
    expect([0.73, 1.27].map(String)).toContain(timmOp('ColorIncreasing').arg(3, rng).toFixed(2));
  });

  it('draws one sub-policy per image uniformly, each operation with its own probability', () => {
    const px = () => grey([[10, 200]]);
    const run = (sub_policies: unknown, seed: number) => Array.from(apply(step('AutoAugment', { sub_policies }), px(), seed).img.data);
    // Probability 0 never applies, 1 always.
    expect(run([[['Invert', 0, 5]]], 3)).toEqual([10, 200]);
    expect(run([[['Invert', 1, 5]]], 3)).toEqual([245, 55]);
    // Two sub-policies, one inverting, one not: about half the images inverted.
    const inverted = Array.from({ length: 400 }, (_, seed) => run([[['Invert', 1, 0]], [['Equalize', 0, 0]]], seed)[0] === 245).filter(Boolean).length;
    expect(inverted / 400).toBeGreaterThan(0.42);
    expect(inverted / 400).toBeLessThan(0.58);
    // The default policy changes some images and leaves others (its probabilities are below 1).
    const changed = Array.from({ length: 50 }, (_, seed) => apply(step('AutoAugment'), image(textured()), seed).img.data.some((v, i) => v !== textured().flat(2)[i])).filter(Boolean).length;
    expect(changed).toBeGreaterThan(25);
    expect(changed).toBeLessThan(50);
  });

  it('refuses an unknown operation, a probability above 1, a normalised image', () => {
    expect(() => step('AutoAugment', { sub_policies: [[['Cutout', 0.5, 3]]] })).toThrow('pipeline.sub_policies.0.0.0: Invalid option: expected one of "AutoContrast"|"Equalize"');
    expect(() => step('AutoAugment', { sub_policies: [[['Invert', 0.5, 3], ['Invert', 1.5, 3]]] })).toThrow('pipeline.sub_policies.0.1.1: Too big: expected number to be <=1');
    expect(() => apply(step('AutoAugment'), image([[[0.1, 0.2, 0.3]]], null), 0)).toThrow('AutoAugment works on pixel intensities, but the image was already normalised: put AutoAugment before Normalize in the pipeline');
  });
});

describe('AugMix', () => {
  /** m of out = (1 - m) img + m mix, read from each pixel where mix = 255 - img (Invert chains). */
  const blendOf = (img: number[], out: ArrayLike<number>) => img.map((v, i) => (out[i] - v) / (255 - 2 * v));

  it('blends the original with its mixed chains by m ~ Beta(alpha, alpha): one m per image, its mean and variance', () => {
    const px = [0, 40, 90, 200];
    for (const alpha of [1, 0.5]) {
      const ms = Array.from({ length: 600 }, (_, seed) => {
        const m = blendOf(px, apply(step('AugMix', { ops: ['Invert'], depth: 1, alpha }), grey([px]), seed).img.data);
        // Every chain inverts once, whatever the Dirichlet weights: one m for all pixels.
        for (const v of m) expect(v).toBeCloseTo(m[0], 4);
        return m[0];
      });
      const mean = ms.reduce((a, b) => a + b, 0) / ms.length;
      const variance = ms.reduce((a, b) => a + (b - mean) ** 2, 0) / ms.length;
      expect(mean).toBeGreaterThan(0.45);
      expect(mean).toBeLessThan(0.55);
      // Beta(a, a): a^2 / ((2a)^2 (2a + 1)): 1/12 at 1, 1/8 at 0.5.
      expect(variance).toBeCloseTo(1 / (4 * (2 * alpha + 1)), 1.7);
    }
  });

  it('chains depth operations from the original: two inversions are the original back; depth -1 draws 1 to 3', () => {
    const px = [0, 40, 90, 200];
    expect(Array.from(apply(step('AugMix', { ops: ['Invert'], depth: 2 }), grey([px]), 5).img.data)).toEqual(px);
    // Depth -1 with width 1: odd depths (1, 3) invert, 2 does not; both seen, about 2 in 3 inverted.
    const moved = Array.from({ length: 300 }, (_, seed) => apply(step('AugMix', { ops: ['Invert'], width: 1 }), grey([px]), seed).img.data[0] > 0).filter(Boolean).length;
    expect(moved / 300).toBeGreaterThan(0.55);
    expect(moved / 300).toBeLessThan(0.78);
  });

  it("mixes width chains with Dirichlet weights: timm's default operations keep the image in range and change it", () => {
    const rows = textured();
    const out = apply(step('AugMix'), image(rows), 1).img.data;
    expect(Math.min(...out)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...out)).toBeLessThanOrEqual(255);
    expect(Array.from(out).some((v, i) => Math.abs(v - rows.flat(2)[i]) > 1)).toBe(true);
    expect(() => step('AugMix', { depth: 0 })).toThrow('depth is -1 (1 to 3 at random) or at least 1');
  });
});
