/**
 * RandomErasing as timm's: the probability, one rectangle of the drawn area and aspect, standard-normal
 * noise per pixel (or one colour, or zeros), and a located refusal before Normalize.
 */
import { describe, expect, it } from 'vitest';
import '../../src/builtins';
import { apply, image, step } from './helpers';
import type { ImageTensor } from '../../src/data/types';

/** A normalised 40x30 image of 3 channels, every value 9 (no noise draw is 9). */
const nines = (): ImageTensor => image(Array.from({ length: 40 }, () => Array.from({ length: 30 }, () => [9, 9, 9])), null);

/** The bounding box of the changed pixels, and how many changed. */
function erased(img: ImageTensor): { changed: number; top: number; bottom: number; left: number; right: number; values: number[] } {
  let [top, bottom, left, right, changed] = [Infinity, -1, Infinity, -1, 0];
  const values: number[] = [];
  for (let y = 0; y < img.height; y++)
    for (let x = 0; x < img.width; x++) {
      const i = (y * img.width + x) * 3;
      const px = Array.from(img.data.subarray(i, i + 3));
      if (px.every((v) => v === 9)) continue;
      changed++;
      values.push(...px);
      [top, bottom, left, right] = [Math.min(top, y), Math.max(bottom, y), Math.min(left, x), Math.max(right, x)];
    }
  return { changed, top, bottom, left, right, values };
}

describe('RandomErasing', () => {
  it('erases one rectangle of 2-33% of the image, aspect 0.3-3.3, with standard-normal noise, in p of the images', () => {
    const s = step('RandomErasing', { p: 0.5 });
    let hits = 0;
    const noise: number[] = [];
    for (let seed = 0; seed < 400; seed++) {
      const e = erased(apply(s, nines(), seed).img);
      if (!e.changed) continue;
      hits++;
      const [h, w] = [e.bottom - e.top + 1, e.right - e.left + 1];
      // Every pixel of the bounding box changed: a rectangle.
      expect(e.changed).toBe(h * w);
      // Rounding the sides moves the area and aspect a little past the drawn ones.
      expect(e.changed / (40 * 30)).toBeGreaterThan(0.02 * 0.8);
      expect(e.changed / (40 * 30)).toBeLessThan((1 / 3) * 1.2);
      expect(h / w).toBeGreaterThan(0.3 * 0.7);
      expect(h / w).toBeLessThan((1 / 0.3) / 0.7);
      noise.push(...e.values);
    }
    expect(hits / 400).toBeGreaterThan(0.42);
    expect(hits / 400).toBeLessThan(0.58);
    const mean = noise.reduce((a, b) => a + b, 0) / noise.length;
    const sd = Math.sqrt(noise.reduce((a, b) => a + (b - mean) ** 2, 0) / noise.length);
    expect(Math.abs(mean)).toBeLessThan(0.02);
    expect(Math.abs(sd - 1)).toBeLessThan(0.02);
  });

  it('p 0 leaves the image alone; rand fills a rectangle with one colour, const with zeros', () => {
    expect(erased(apply(step('RandomErasing', { p: 0 }), nines(), 3).img).changed).toBe(0);
    const rand = erased(apply(step('RandomErasing', { p: 1, mode: 'rand' }), nines(), 3).img);
    expect(rand.changed).toBeGreaterThan(0);
    expect(new Set(rand.values.filter((_, i) => i % 3 === 0)).size).toBe(1);
    expect(new Set(rand.values).size).toBe(3);
    const zeros = erased(apply(step('RandomErasing', { p: 1, mode: 'const' }), nines(), 3).img);
    expect(zeros.changed).toBeGreaterThan(0);
    expect(new Set(zeros.values)).toEqual(new Set([0]));
  });

  it('two rectangles share the drawn area (count 2)', () => {
    let total = 0;
    for (let seed = 0; seed < 200; seed++) total += erased(apply(step('RandomErasing', { p: 1, count: 2, area: [0.1, 0.1] }), nines(), seed).img).changed;
    // Each 5% of 1,200 pixels, overlapping at times: about 120 on average, never more.
    expect(total / 200).toBeGreaterThan(100);
    expect(total / 200).toBeLessThanOrEqual(130);
  });

  it('noise on an image that is not normalised is refused with where it goes; zeros are not', () => {
    const raw = image([[[200, 10, 10]]].concat(Array.from({ length: 9 }, () => [[200, 10, 10]])).map((r) => Array.from({ length: 10 }, () => r[0])));
    expect(() => apply(step('RandomErasing', { p: 1 }), raw, 1)).toThrow('RandomErasing: mode pixel fills with standard-normal values, the scale of a normalised image; put it after Normalize (or use mode: const)');
    expect(() => apply(step('RandomErasing', { p: 1, mode: 'const' }), raw, 1)).not.toThrow();
  });
});
