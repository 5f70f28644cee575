/**
 * Mosaic: four images (this one and three others from the dataset) resized to fit `size` and
 * placed around a random centre of a 2x canvas, then a random affine that cuts the output size
 * from it — YOLOX's MosaicDetection (Ge et al., arXiv:2107.08430; Mosaic from Bochkovskiy et
 * al., YOLOv4, arXiv:2004.10934). With probability 1 - p, or from `until_epoch` on, the image
 * passes unchanged (YOLOX closes Mosaic for its last 15 epochs).
 */
import { z } from 'zod';
import { register } from '../../../core/registry';
import type { Box, ImageTensor } from '../../types';
import { sizeHW } from '../image';
import { probabilityParam, rangeParam, sizeParam, type PipelineStep } from '../step';
import { canvas, moveBoxes, padValue, paste, resizeImage, takeExtras } from './canvas';
import { affineShape, randomAffine } from './randomAffine';

/**
 * Where image i (0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right) of size w x h goes on
 * the 2H x 2W canvas around (xc, yc): the canvas rectangle and the image's own rectangle
 * (the reference's get_mosaic_coordinate), as [x1, y1, x2, y2].
 */
export function mosaicCoordinates(i: number, xc: number, yc: number, w: number, h: number, H: number, W: number): { large: number[]; small: number[] } {
  let l: number[];
  let s: number[];
  if (i === 0) {
    l = [Math.max(xc - w, 0), Math.max(yc - h, 0), xc, yc];
    s = [w - (l[2] - l[0]), h - (l[3] - l[1]), w, h];
  } else if (i === 1) {
    l = [xc, Math.max(yc - h, 0), Math.min(xc + w, W * 2), yc];
    s = [0, h - (l[3] - l[1]), Math.min(w, l[2] - l[0]), h];
  } else if (i === 2) {
    l = [Math.max(xc - w, 0), yc, xc, Math.min(H * 2, yc + h)];
    s = [w - (l[2] - l[0]), 0, w, Math.min(l[3] - l[1], h)];
  } else {
    l = [xc, yc, Math.min(xc + w, W * 2), Math.min(H * 2, yc + h)];
    s = [0, 0, Math.min(w, l[2] - l[0]), Math.min(l[3] - l[1], h)];
  }
  return { large: l, small: s };
}

/** The 2H x 2W mosaic of four images around (xc, yc), with their boxes. */
export function mosaic(images: Array<{ img: ImageTensor; boxes: Box[] }>, H: number, W: number, xc: number, yc: number): { img: ImageTensor; boxes: Box[] } {
  const out = canvas(images[0].img, 2 * W, 2 * H, padValue(images[0].img));
  const boxes: Box[] = [];
  images.forEach(({ img, boxes: own }, i) => {
    const scale = Math.min(H / img.height, W / img.width);
    const resized = resizeImage(img, Math.trunc(img.width * scale), Math.trunc(img.height * scale));
    const { large: l, small: s } = mosaicCoordinates(i, xc, yc, resized.width, resized.height, H, W);
    if (l[2] > l[0] && l[3] > l[1]) paste(out, resized, s[0], s[1], l[2] - l[0], l[3] - l[1], l[0], l[1]);
    // Boxes follow the image's shift, clipped to the canvas (the reference clips to it too).
    // One by one: push(...) of an image's 200,000 boxes overflowed the call stack as arguments.
    for (const b of moveBoxes(own, scale, l[0] - s[0], l[1] - s[1], 2 * W, 2 * H)) boxes.push(b);
  });
  return { img: out, boxes };
}

register('pipeline', {
  type: 'Mosaic',
  description: 'Four images on a 2x canvas around a random centre, then a random affine cut to `size` (YOLOX MosaicDetection)',
  paper: 'Bochkovskiy et al., YOLOv4, arXiv:2004.10934; Ge et al., YOLOX, arXiv:2107.08430',
  params: z.strictObject({
    size: sizeParam.describe('Output size: one number for a square, or [height, width] (the network input)'),
    p: probabilityParam(1, 'the mosaic (YOLOX-nano: 0.5)'),
    center_ratio: rangeParam(0.5, 1.5, 0, 2).describe('Range of the mosaic centre, as a fraction of the output size'),
    ...affineShape,
    until_epoch: z.number().int().min(0).optional().describe('Stop at this 0-based epoch (YOLOX: 15 epochs before the end)'),
  }),
  build: (p): PipelineStep => {
    const [H, W] = sizeHW(p.size);
    return {
      type: 'Mosaic',
      ignoresMasks: true,
      mixImages: 3,
      apply(state, rng) {
        const others = takeExtras(state.extras, 3, 'Mosaic');
        state.mosaicked = false;
        if (p.until_epoch !== undefined && (state.epoch ?? 0) >= p.until_epoch) return;
        if (!rng.chance(p.p)) return;
        state.mosaicked = true;
        const yc = Math.trunc(rng.uniform(p.center_ratio[0] * H, p.center_ratio[1] * H));
        const xc = Math.trunc(rng.uniform(p.center_ratio[0] * W, p.center_ratio[1] * W));
        const m = mosaic([{ img: state.img, boxes: state.boxes ?? [] }, ...others], H, W, xc, yc);
        state.img = m.img;
        state.boxes = m.boxes;
        randomAffine(state, p, rng, W, H);
      },
    };
  },
});
