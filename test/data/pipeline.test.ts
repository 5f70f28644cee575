import { describe, expect, it } from 'vitest';
import '../../src/data';
import { Random } from '../../src/core/random';
import { randomResizedCropRect, resizeShorterSide } from '../../src/data/pipeline/geometric';
import { defaultKernelSize, gaussianKernel } from '../../src/data/pipeline/blur';
import { roundHalfEven } from '../../src/data/pipeline/image';
import { resampleRect } from '../../src/data/pipeline/resample';
import { apply, grey, image, step, values } from './helpers';

const close = (actual: number[], expected: number[], digits = 4) => {
  expect(actual.length).toBe(expected.length);
  actual.forEach((v, i) => expect(v).toBeCloseTo(expected[i], digits));
};

describe('resampling (PIL semantics)', () => {
  it('upsamples 2 -> 4 with pixel-centre bilinear weights', () => {
    // centres 0.25, 0.75, 1.25, 1.75 in source pixels: [0, 0.25*10, 0.75*10, 10]
    close(Array.from(resampleRect(grey([[0, 10]]), 0, 0, 2, 1, 4, 1, 'bilinear')), [0, 2.5, 7.5, 10]);
  });

  it('shrinks 4 -> 2 with a filter widened by the scale (antialiasing)', () => {
    // output 0: taps x=0,1,2 with weights 0.75, 0.75, 0.25 (triangle of half-width 2 at centre 1)
    close(Array.from(resampleRect(grey([[0, 4, 8, 12]]), 0, 0, 4, 1, 2, 1, 'bilinear')), [(4 * 0.75 + 8 * 0.25) / 1.75, (4 * 0.25 + 8 * 0.75 + 12 * 0.75) / 1.75]);
  });

  it('keeps the taps inside the crop rectangle', () => {
    // Cropping [4, 8] out of [0, 4, 8, 12] and keeping its size copies it exactly.
    close(Array.from(resampleRect(grey([[0, 4, 8, 12]]), 1, 0, 2, 1, 2, 1, 'bilinear')), [4, 8]);
    // Upsampling the crop never reads 0 or 12 from outside it.
    close(Array.from(resampleRect(grey([[0, 4, 8, 12]]), 1, 0, 2, 1, 4, 1, 'bilinear')), [4, 5, 7, 8]);
  });

  it('nearest picks the pixel under each output centre', () => {
    close(Array.from(resampleRect(grey([[1, 2, 3, 4, 5, 6]]), 0, 0, 6, 1, 3, 1, 'nearest')), [2, 4, 6]);
  });

  it('resamples every channel alike', () => {
    const img = image([[[0, 100, 10], [10, 200, 20]]]);
    close(Array.from(resampleRect(img, 0, 0, 2, 1, 4, 1, 'bilinear')), [0, 100, 10, 2.5, 125, 12.5, 7.5, 175, 17.5, 10, 200, 20]);
  });
});

describe('geometric steps', () => {
  it('Resize with one number sets the shorter side, keeping the ratio (torchvision)', () => {
    expect(resizeShorterSide(100, 50, 25)).toEqual([50, 25]);
    expect(resizeShorterSide(30, 45, 20)).toEqual([20, 30]);
    expect(resizeShorterSide(100, 50, 25, 40)).toEqual([40, 20]);
    const out = apply(step('Resize', { size: [1, 4] }), grey([[0, 10]]));
    expect([out.img.height, out.img.width]).toEqual([1, 4]);
    close(values(out.img), [0, 2.5, 7.5, 10]);
  });

  it('Resize scales boxes with the image', () => {
    const out = apply(step('Resize', { size: [8, 8] }), grey([[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]), 0, [{ bbox: [1, 1, 2, 2], label: 3 }]);
    expect(out.boxes).toEqual([{ bbox: [2, 2, 4, 4], label: 3 }]);
  });

  it('CenterCrop takes the middle, rounding half to even like torchvision', () => {
    const rows = Array.from({ length: 5 }, (_, y) => Array.from({ length: 5 }, (_, x) => 10 * y + x));
    // (5 - 2) / 2 = 1.5 rounds to 2: rows and columns 2..3
    expect(values(apply(step('CenterCrop', { size: 2 }), grey(rows)).img)).toEqual([22, 23, 32, 33]);
    const four = Array.from({ length: 4 }, (_, y) => Array.from({ length: 4 }, (_, x) => 10 * y + x));
    expect(values(apply(step('CenterCrop', { size: [2, 2] }), grey(four)).img)).toEqual([11, 12, 21, 22]);
    expect(roundHalfEven(2.5)).toBe(2);
    expect(roundHalfEven(3.5)).toBe(4);
  });

  it('CenterCrop pads a smaller image with zeros, centred', () => {
    const out = apply(step('CenterCrop', { size: 4 }), grey([[1, 2], [3, 4]]), 0, [{ bbox: [0, 0, 1, 1], label: 0 }]);
    expect(values(out.img)).toEqual([0, 0, 0, 0, 0, 1, 2, 0, 0, 3, 4, 0, 0, 0, 0, 0]);
    expect(out.boxes![0].bbox).toEqual([1, 1, 1, 1]);
    // One pixel short: torchvision pads right (and bottom) only; the last column once held the next row's first pixel.
    expect(values(apply(step('CenterCrop', { size: [2, 3] }), grey([[1, 2], [3, 4]])).img)).toEqual([1, 2, 0, 3, 4, 0]);
    expect(values(apply(step('CenterCrop', { size: [3, 2] }), grey([[1, 2], [3, 4]])).img)).toEqual([1, 2, 3, 4, 0, 0]);
  });

  it('RandomHorizontalFlip mirrors pixels (channels kept together) and boxes', () => {
    const img = image([[[1, 2], [3, 4], [5, 6]]]);
    const out = apply(step('RandomHorizontalFlip', { p: 1 }), img, 0, [{ bbox: [0, 0, 1, 1], label: 0 }]);
    expect(values(out.img)).toEqual([5, 6, 3, 4, 1, 2]);
    expect(out.boxes![0].bbox).toEqual([2, 0, 1, 1]);
    expect(values(apply(step('RandomHorizontalFlip', { p: 0 }), img).img)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('RandomResizedCrop falls back to a centre crop clamped to the ratio range', () => {
    // 4x2 image, whole area at ratio 1 does not fit: fallback is the central 2x2 square.
    expect(randomResizedCropRect(4, 2, [1, 1], [1, 1], new Random(0))).toEqual([1, 0, 2, 2]);
    const out = apply(step('RandomResizedCrop', { size: 2, scale: [1, 1], ratio: [1, 1] }), grey([[0, 1, 2, 3], [4, 5, 6, 7]]));
    expect(values(out.img)).toEqual([1, 2, 5, 6]);
  });

  it('RandomResizedCrop draws areas and ratios within their ranges, the same for the same seed', () => {
    const rng = new Random(7);
    for (let i = 0; i < 500; i++) {
      const [x, y, w, h] = randomResizedCropRect(200, 100, [0.2, 0.5], [0.5, 2], rng);
      expect(x >= 0 && y >= 0 && x + w <= 200 && y + h <= 100).toBe(true);
      const area = (w * h) / 20000;
      // rounding of w and h moves the area a little around the drawn target
      expect(area).toBeGreaterThan(0.2 * 0.95);
      expect(area).toBeLessThan(0.5 * 1.05);
      expect(w / h).toBeGreaterThan(0.5 * 0.95);
      expect(w / h).toBeLessThan(2 * 1.05);
    }
    expect(randomResizedCropRect(200, 100, [0.08, 1], [3 / 4, 4 / 3], new Random(3))).toEqual(randomResizedCropRect(200, 100, [0.08, 1], [3 / 4, 4 / 3], new Random(3)));
  });

  it('RandomResizedCrop moves and clips boxes with the crop', () => {
    const img = grey(Array.from({ length: 2 }, () => [0, 0, 0, 0]));
    // crop (1, 0, 2, 2) resized to 4x4: box [0, 0, 2, 1] becomes [0, 0, 2, 2] after clipping x to the crop
    const out = apply(step('RandomResizedCrop', { size: 4, scale: [1, 1], ratio: [1, 1] }), img, 0, [
      { bbox: [0, 0, 2, 1], label: 1 },
      { bbox: [3.5, 0, 0.5, 1], label: 2 },
    ]);
    expect(out.boxes).toEqual([{ bbox: [0, 0, 2, 2], label: 1 }]);
  });
});

describe('output sizes', () => {
  it('a size past the image pixel limit is refused by the schema, before any step allocates for it', () => {
    // RandomResizedCrop with size 1e9 filled memory until the system killed cvw train (its
    // resampling weights alone were 1e9 x 3 floats); 30000 made a 10 GB image per view.
    for (const [type, size] of [['RandomResizedCrop', 1e9], ['Resize', 30000], ['CenterCrop', [20000, 10000]], ['LetterboxResize', 1e6], ['Mosaic', 11000], ['RandomAffine', [1, 1e9]]] as const) {
      expect(() => step(type, { size }), type).toThrow(/size: the output image would be .* pixels, more than the limit of 100,000,000 \(set CVW_MAX_IMAGE_PIXELS to raise it\)/);
    }
    expect(() => step('Resize', { size: 10000 })).not.toThrow();
  });
});

describe('colour steps', () => {
  it('ColorJitter brightness multiplies and clamps at white', () => {
    const out = apply(step('ColorJitter', { brightness: [2, 2] }), image([[[10, 100, 200]]]));
    close(values(out.img), [20, 200, 255]);
  });

  it('ColorJitter contrast blends with the mean grey level of the image', () => {
    // grey levels: 0 and 100 -> mean 50; factor 0.5: 0.5 * v + 25
    const out = apply(step('ColorJitter', { contrast: [0.5, 0.5] }), grey([[0, 100]]));
    close(values(out.img), [25, 75]);
  });

  it('ColorJitter saturation 0 gives the grey level, 2 doubles the distance from it', () => {
    const px = [[[200, 100, 0]]];
    const g = 0.299 * 200 + 0.587 * 100;
    close(values(apply(step('ColorJitter', { saturation: [0, 0] }), image(px)).img), [g, g, g]);
    close(values(apply(step('ColorJitter', { saturation: [1.5, 1.5] }), image(px)).img), [Math.min(255, 1.5 * 200 - 0.5 * g), 1.5 * 100 - 0.5 * g, 0]);
  });

  it('ColorJitter hue rotates around the colour wheel', () => {
    close(values(apply(step('ColorJitter', { hue: [0.5, 0.5] }), image([[[255, 0, 0]]])).img), [0, 255, 255]);
    close(values(apply(step('ColorJitter', { hue: [1 / 3, 1 / 3] }), image([[[255, 0, 0]]])).img), [0, 255, 0], 3);
    close(values(apply(step('ColorJitter', { hue: [-1 / 6, -1 / 6] }), image([[[0, 255, 0], [40, 40, 40]]])).img), [255, 255, 0, 40, 40, 40], 3);
  });

  it('ColorJitter draws its order and factors from the seed, and p 0 leaves the image', () => {
    const s = step('ColorJitter', { brightness: 0.8, contrast: 0.8, saturation: 0.8, hue: 0.2 });
    const img = () => image([[[10, 100, 200], [50, 60, 70]]]);
    expect(values(apply(s, img(), 5).img)).toEqual(values(apply(s, img(), 5).img));
    expect(values(apply(s, img(), 5).img)).not.toEqual(values(apply(s, img(), 6).img));
    expect(values(apply(step('ColorJitter', { brightness: 0.8, p: 0 }), img()).img)).toEqual([10, 100, 200, 50, 60, 70]);
  });

  it('RandomGrayscale keeps three channels of luma; Grayscale can make one', () => {
    const g = 0.299 * 255;
    close(values(apply(step('RandomGrayscale', { p: 1 }), image([[[255, 0, 0]]])).img), [g, g, g]);
    const one = apply(step('Grayscale'), image([[[0, 255, 0]]])).img;
    expect(one.channels).toBe(1);
    close(values(one), [0.587 * 255]);
    expect(step('Grayscale', { num_output_channels: 3 }).outChannels!(1)).toBe(3);
  });

  it('Solarization inverts pixels at or above the threshold', () => {
    expect(values(apply(step('Solarization', { p: 1 }), grey([[0, 127, 128, 255]])).img)).toEqual([0, 127, 127, 0]);
    // after ToTensor the threshold scales with white
    close(values(apply(step('Solarization', { p: 1, threshold: 128 }), grey([[0.2, 0.6]], 1)).img), [0.2, 0.4]);
  });

  it('colour steps after Normalize are a clear error', () => {
    expect(() => apply(step('ColorJitter', { brightness: 0.5 }), grey([[0.1]], null))).toThrow(/put ColorJitter before Normalize/);
  });
});

describe('GaussianBlur', () => {
  it('uses torchvision\'s sampled kernel', () => {
    const e = Math.exp(-0.5);
    close(Array.from(gaussianKernel(3, 1)), [e / (1 + 2 * e), 1 / (1 + 2 * e), e / (1 + 2 * e)]);
  });

  it('blurs with reflect padding (kernel 3, sigma 1)', () => {
    const e = Math.exp(-0.5);
    const [a, b] = [e / (1 + 2 * e), 1 / (1 + 2 * e)];
    // one row: the vertical kernel shrinks to 1; x=-1 reflects to x=1
    const out = apply(step('GaussianBlur', { kernel_size: 3, sigma: [1, 1], p: 1 }), grey([[0, 3, 0]]));
    close(values(out.img), [2 * a * 3, b * 3, 2 * a * 3]);
    // a constant image stays constant
    const flat = apply(step('GaussianBlur', { kernel_size: [3, 5], sigma: [0.5, 2], p: 1 }), grey([[7, 7, 7], [7, 7, 7], [7, 7, 7]]));
    close(values(flat.img), new Array(9).fill(7));
  });

  it('defaults to SimCLR\'s kernel: side // 10, made odd by its radius (9 at 96 px, 23 at 224, at least 3)', () => {
    expect([[96, 96], [224, 300], [32, 32], [28, 28], [49, 50]].map(([w, h]) => defaultKernelSize(w, h))).toEqual([9, 23, 3, 3, 5]);
  });

  it('rejects even kernel sizes in the schema', () => {
    expect(() => step('GaussianBlur', { kernel_size: 4 })).toThrow(/kernel sizes must be odd/);
  });
});

describe('ToTensor and Normalize', () => {
  it('ToTensor scales 0-255 to 0-1', () => {
    const out = apply(step('ToTensor'), grey([[0, 255, 51]]));
    close(values(out.img), [0, 1, 0.2]);
    expect(out.img.white).toBe(1);
  });

  it('Normalize subtracts the mean and divides by the std per channel', () => {
    close(values(apply(step('Normalize', { mean: [0.5], std: [0.25] }), grey([[0, 1]], 1)).img), [-2, 2]);
    close(values(apply(step('Normalize', { mean: [1, 2], std: [1, 2] }), image([[[3, 6]]], 255)).img), [2, 2]);
    close(values(apply(step('Normalize'), image([[[0.485, 0.456 + 0.224, 0.406 - 0.225]]], 1)).img), [0, 1, -1]);
  });

  it('Normalize names the mismatch between its values and the channels', () => {
    expect(() => apply(step('Normalize', { mean: [0.1, 0.2], std: [1, 1] }), grey([[1]], 1))).toThrow(/mean has 2 values but the image has 1 channel/);
    expect(() => step('Normalize', { std: [0] })).toThrow(/standard deviations must be > 0/);
  });

  it('Normalize refuses statistics on the other scale than the image (ImageNet 0-1 defaults on 0-255 pixels turned 200 into 871)', () => {
    expect(() => apply(step('Normalize'), image([[[200, 200, 200]]], 255))).toThrow('Normalize: the image is on the 0-255 scale but mean and std are on the 0-1 scale; put ToTensor before Normalize, or give them on the 0-255 scale');
    expect(() => apply(step('Normalize', { mean: [123.7, 116.3, 103.5], std: [58.4, 57.1, 57.4] }), image([[[0.5, 0.5, 0.5]]], 1))).toThrow(/on the 0-1 scale \(after ToTensor\) but the mean is on the 0-255 scale/);
    close(values(apply(step('Normalize', { mean: [127.5], std: [127.5] }), grey([[255]], 255)).img), [1]);
  });
});
