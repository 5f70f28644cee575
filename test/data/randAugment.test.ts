/**
 * RandAugment as timm's: each operation against PIL's own (the library timm calls) on the same
 * image and argument, timm's magnitude-to-argument mapping, and the step's draws.
 */
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import '../../src/builtins';
import { Random } from '../../src/core/random';
import { RAND_OPS, type RandOpName } from '../../src/data/pipeline/augmentOps';
import { apply, grey, image, step } from './helpers';
import { pythonHas, runPython } from './python';

const FILL = [124, 116, 104];

describe.skipIf(!pythonHas('PIL', 'numpy'))('RandAugment operations against PIL', () => {
  it('every operation gives PIL\'s pixels within 1.5 levels of 255 (PIL rounds to 8 bits)', () => {
    const out = JSON.parse(runPython(fs.readFileSync(path.join(__dirname, 'rand_augment_pil.py'), 'utf8'))) as { input: number[][][]; ops: Record<RandOpName, [number, number[][][]]> };
    expect(Object.keys(out.ops).sort()).toEqual(Object.keys(RAND_OPS).sort());
    for (const [name, [arg, want]] of Object.entries(out.ops) as Array<[RandOpName, [number, number[][][]]]>) {
      const img = image(out.input) as ReturnType<typeof image> & { data: Float32Array };
      const got = RAND_OPS[name].apply(img, arg, FILL).data;
      const pil = want.flat(2);
      const worst = Math.max(...pil.map((v, i) => Math.abs(got[i] - v)));
      expect(worst, name).toBeLessThanOrEqual(1.5);
      // Not the input back: each operation changed the image.
      expect(pil.some((v, i) => v !== out.input.flat(2)[i]), name).toBe(true);
    }
  });
});

describe('RandAugment', () => {
  it("maps a magnitude to timm's arguments (m 9: increasing and not)", () => {
    const up = new Random(1);
    const arg = (name: RandOpName, increasing = true, rng = up) => RAND_OPS[name].arg(9, increasing, rng);
    expect(arg('Posterize')).toBe(1);
    expect(arg('Posterize', false)).toBe(3);
    expect(arg('Solarize')).toBe(26);
    expect(arg('Solarize', false)).toBe(230);
    expect(arg('SolarizeAdd')).toBe(99);
    expect(arg('Contrast', false)).toBeCloseTo(1.72, 10);
    // Random signs: both seen over draws, at timm's sizes.
    const seen = (name: RandOpName) => [...new Set(Array.from({ length: 40 }, () => Number(arg(name).toFixed(6))))].sort((a, b) => a - b);
    expect(seen('Color')).toEqual([0.19, 1.81]);
    expect(seen('Rotate')).toEqual([-27, 27]);
    expect(seen('ShearX')).toEqual([-0.27, 0.27]);
    expect(seen('TranslateYRel')).toEqual([-0.405, 0.405]);
  });

  it('applies num_ops operations drawn with replacement, each with probability p', () => {
    const img = () => image([[[10, 200, 30], [250, 0, 128]]]);
    // Invert twice is the image again; once, inverted.
    expect(Array.from(apply(step('RandAugment', { ops: ['Invert'], p: 1 }), img(), 3).img.data)).toEqual([10, 200, 30, 250, 0, 128]);
    expect(Array.from(apply(step('RandAugment', { ops: ['Invert'], p: 1, num_ops: 1 }), img(), 3).img.data)).toEqual([245, 55, 225, 5, 255, 127]);
    // p 0.5, one op: inverted in about half the images.
    const inverted = Array.from({ length: 400 }, (_, seed) => apply(step('RandAugment', { ops: ['Invert'], num_ops: 1 }), img(), seed).img.data[0] === 245).filter(Boolean).length;
    expect(inverted / 400).toBeGreaterThan(0.42);
    expect(inverted / 400).toBeLessThan(0.58);
  });

  it('draws each magnitude from N(magnitude, magnitude_std) clipped to [0, 10]', () => {
    // Solarize (increasing) at magnitude m inverts the levels from 256 - floor(25.6 m): 10 inverts all.
    const at = (magnitude: number, std: number, seed: number) => apply(step('RandAugment', { ops: ['Solarize'], p: 1, num_ops: 1, magnitude, magnitude_std: std }), grey([[0, 60, 130, 200, 255]]), seed).img.data;
    expect(Array.from(at(10, 0, 0))).toEqual([255, 195, 125, 55, 0]);
    expect(Array.from(at(0, 0, 0))).toEqual([0, 60, 130, 200, 255]);
    // Around 5 (threshold 128) with std 2, the level 130 pixel is inverted in some images and not in others.
    const flips = Array.from({ length: 200 }, (_, seed) => at(5, 2, seed)[2] === 125).filter(Boolean).length;
    expect(flips).toBeGreaterThan(40);
    expect(flips).toBeLessThan(160);
  });

  it('fills a grey image with the grey of the RGB fill; refuses a normalised image or a fill of another length', () => {
    const shifted = apply(step('RandAugment', { ops: ['TranslateXRel'], p: 1, num_ops: 1, magnitude: 10, magnitude_std: 0 }), grey([[0, 0, 0, 0]]), 0).img.data;
    expect(Array.from(shifted).filter((v) => v !== 0).map((v) => v.toFixed(3))).toContain((0.299 * 124 + 0.587 * 116 + 0.114 * 104).toFixed(3));
    expect(() => apply(step('RandAugment'), image([[[0.1, 0.2, 0.3]]], null), 0)).toThrow('RandAugment works on pixel intensities, but the image was already normalised: put RandAugment before Normalize in the pipeline');
    expect(() => apply(step('RandAugment', { fill: [1, 2] }), image([[[1, 2, 3]]]), 0)).toThrow('RandAugment: fill has 2 values but the image has 3 channels; give 3 values or one');
  });
});
