/**
 * TrivialAugmentWide as torchvision's: each operation against torchvision's own (its _apply_op on a
 * PIL image) at a signed magnitude from its bins, its magnitude bins and signs, and the step's
 * uniform draws.
 */
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import '../../src/builtins';
import { TRIVIAL_AUGMENT_OPS } from '../../src/data/pipeline/trivialAugment';
import { apply, grey, image, step } from './helpers';
import { pythonHas, runPython } from './python';

/** (operation, signed magnitude, interpolation): each magnitude one of the 31 bins'. */
const CASES: Array<[string, number, 'nearest' | 'bilinear']> = [
  ['Identity', 0, 'nearest'],
  ['ShearX', -0.363, 'nearest'],
  ['ShearY', 0.297, 'nearest'],
  ['TranslateX', -32 / 6, 'nearest'],
  ['TranslateY', 12.8, 'nearest'],
  ['Rotate', 90, 'nearest'],
  ['Rotate', -31.5, 'nearest'],
  ['Rotate', 58.5, 'bilinear'],
  ['ShearX', 0.594, 'bilinear'],
  ['Brightness', 0.429, 'nearest'],
  ['Color', -0.66, 'nearest'],
  ['Contrast', 0.33, 'nearest'],
  ['Sharpness', -0.891, 'nearest'],
  ['Posterize', 3, 'nearest'],
  ['Solarize', 102, 'nearest'],
  ['AutoContrast', 0, 'nearest'],
  ['Equalize', 0, 'nearest'],
];

describe.skipIf(!pythonHas('PIL', 'numpy', 'torchvision'))('TrivialAugmentWide against torchvision', () => {
  const tv = () =>
    JSON.parse(runPython(fs.readFileSync(path.join(__dirname, 'trivial_augment_torchvision.py'), 'utf8'), [], JSON.stringify(CASES))) as {
      input: number[][][];
      out: number[][][][];
      bins: Record<string, Record<string, number[]>>;
      signed: Record<string, boolean>;
    };

  it("every operation gives torchvision's pixels: the geometric ones exactly with nearest, the others within 1.5 levels", () => {
    const { input, out } = tv();
    CASES.forEach(([name, magnitude, interpolation], k) => {
      const img = image(input) as ReturnType<typeof image> & { data: Float32Array };
      const got = TRIVIAL_AUGMENT_OPS[name].apply(img, magnitude, [0, 0, 0], interpolation === 'nearest').data;
      const want = out[k].flat(2);
      const what = `${name} ${magnitude} ${interpolation}`;
      const exact = interpolation === 'nearest' && /Shear|Translate|Rotate/.test(name);
      expect(Math.max(...want.map((v, i) => Math.abs(got[i] - v))), what).toBeLessThanOrEqual(exact ? 0 : 1.5);
      if (name !== 'Identity') expect(want.some((v, i) => v !== input.flat(2)[i]), what).toBe(true);
    });
  });

  it("has torchvision's 14 operations, their signs and magnitude bins (31 and 13 bins)", () => {
    const { bins, signed } = tv();
    expect(Object.keys(TRIVIAL_AUGMENT_OPS)).toEqual(Object.keys(signed));
    for (const n of [31, 13])
      for (const [name, op] of Object.entries(TRIVIAL_AUGMENT_OPS)) {
        const ours = op.bins?.(n) ?? [];
        const theirs = bins[n][name];
        // A magnitude-less operation: torchvision's one 0.
        expect(ours.length, `${name} ${n}`).toBe(theirs.length === 1 && !op.bins ? 0 : theirs.length);
        ours.forEach((v, i) => expect(v, `${name} ${n} bin ${i}`).toBeCloseTo(theirs[i], 4));
        expect(op.signed, name).toBe(signed[name]);
      }
  });
});

describe('TrivialAugmentWide', () => {
  it('draws one operation per image uniformly, one of its bins uniformly, a sign with even odds', () => {
    // Each operation wrapped to record what the step asked of it (the step takes them as it is built).
    const calls: Array<[string, number]> = [];
    const original = { ...TRIVIAL_AUGMENT_OPS };
    for (const [name, op] of Object.entries(original)) TRIVIAL_AUGMENT_OPS[name] = { ...op, apply: (img, m, fill, nearest) => (calls.push([name, m]), op.apply(img, m, fill, nearest)) };
    try {
      const s = step('TrivialAugmentWide');
      for (let seed = 0; seed < 2800; seed++) apply(s, grey([[100, 50]]), seed);
    } finally {
      Object.assign(TRIVIAL_AUGMENT_OPS, original);
    }
    expect(calls).toHaveLength(2800);
    for (const name of Object.keys(original)) {
      const n = calls.filter(([op]) => op === name).length;
      expect(n, name).toBeGreaterThan(200 - 50);
      expect(n, name).toBeLessThan(200 + 50);
    }
    const rotations = calls.filter(([op]) => op === 'Rotate').map(([, m]) => m);
    // 31 bins of 4.5 degrees, either sign: every draw on the grid, both signs about as often.
    expect(rotations.every((m) => Number.isInteger(Math.abs(m) / 4.5) && Math.abs(m) <= 135)).toBe(true);
    const negative = rotations.filter((m) => m < 0).length / rotations.length;
    expect(negative).toBeGreaterThan(0.35);
    expect(negative).toBeLessThan(0.65);
    expect(new Set(calls.filter(([op]) => op === 'Posterize').map(([, m]) => m))).toEqual(new Set([8, 7, 6, 5, 4, 3, 2]));
    expect(calls.filter(([op]) => op === 'Solarize').every(([, m]) => m >= 0)).toBe(true);
  });

  it('fills black by default, the given fill otherwise; refuses a normalised image', () => {
    // A flat grey image: only a geometric operation's fill makes 0 or 7 of it.
    const fills = (fill?: number[]) => {
      const seen = new Set<number>();
      for (let seed = 0; seed < 300; seed++) for (const v of apply(step('TrivialAugmentWide', fill ? { fill } : {}), grey([[100, 100, 100, 100]]), seed).img.data) seen.add(v);
      return seen;
    };
    expect(fills().has(0)).toBe(true);
    expect(fills([7]).has(7)).toBe(true);
    expect(fills([7]).has(0)).toBe(false);
    expect(() => apply(step('TrivialAugmentWide'), image([[[0.1, 0.2, 0.3]]], null), 0)).toThrow('TrivialAugmentWide works on pixel intensities, but the image was already normalised: put TrivialAugmentWide before Normalize in the pipeline');
  });
});
