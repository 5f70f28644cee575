/**
 * MixUp as YOLOX does it (Ge et al., arXiv:2107.08430; mixup from Zhang et al., mixup: Beyond
 * Empirical Risk Minimization, ICLR 2018, arXiv:1710.09412): another image of the dataset,
 * letterboxed to this one's size, scaled by a random jitter, flipped half the time and cut at a
 * random offset, is blended 50/50 with this image, and its boxes are added.
 */
import { z } from 'zod';
import { register } from '../../../core/registry';
import type { Random } from '../../../core/random';
import type { Box, ImageTensor } from '../../types';
import { flipHorizontal } from '../geometric';
import { flipBoxes } from '../boxes';
import { probabilityParam, rangeParam, writablePixels, type PipelineStep, type ViewState } from '../step';
import { canvas, moveBoxes, padValue, paste, resizeImage, takeExtras } from './canvas';

/** Python's random.randint(0, n) (inclusive). */
function randint(rng: Random, n: number): number {
  return rng.int(n + 1);
}

export function mixup(state: ViewState, other: { img: ImageTensor; boxes: Box[] }, scaleRange: [number, number], rng: Random): void {
  const target = state.img;
  const H = target.height;
  const W = target.width;
  const jitter = rng.uniform(scaleRange[0], scaleRange[1]);
  const flip = rng.uniform(0, 1) > 0.5;
  // Letterbox the other image into an H x W grey canvas, then scale the whole canvas by the jitter.
  const r = Math.min(H / other.img.height, W / other.img.width);
  const fitted = resizeImage(other.img, Math.trunc(other.img.width * r), Math.trunc(other.img.height * r));
  const boxed = canvas(target, W, H, padValue(target));
  paste(boxed, fitted, 0, 0, fitted.width, fitted.height, 0, 0);
  let cp = resizeImage(boxed, Math.trunc(W * jitter), Math.trunc(H * jitter));
  const scale = r * jitter;
  let boxes = moveBoxes(other.boxes, scale, 0, 0, cp.width, cp.height);
  if (flip) {
    cp = flipHorizontal(cp);
    boxes = flipBoxes(boxes, cp.width);
  }
  // Zero-padded to at least the target size, then a random H x W window.
  const ph = Math.max(cp.height, H);
  const pw = Math.max(cp.width, W);
  const padded = canvas(target, pw, ph, 0);
  paste(padded, cp, 0, 0, cp.width, cp.height, 0, 0);
  const yOff = ph > H ? randint(rng, ph - H - 1) : 0;
  const xOff = pw > W ? randint(rng, pw - W - 1) : 0;
  const window = canvas(target, W, H, 0);
  paste(window, padded, xOff, yOff, W, H, 0, 0);
  const d = writablePixels(state);
  for (let i = 0; i < d.length; i++) d[i] = 0.5 * d[i] + 0.5 * window.data[i];
  state.boxes = [...(state.boxes ?? []), ...moveBoxes(boxes, 1, -xOff, -yOff, W, H)];
}

register('pipeline', {
  type: 'MixUp',
  description: 'Blend another image of the dataset (letterboxed, scale-jittered, maybe flipped) 50/50 into this one and add its boxes (YOLOX mixup)',
  paper: 'Zhang et al., mixup, arXiv:1710.09412; Ge et al., YOLOX, arXiv:2107.08430',
  params: z.strictObject({
    p: probabilityParam(1, 'the mixup'),
    scale: rangeParam(0.5, 1.5, 0.01).describe('Range of the scale jitter of the other image'),
    until_epoch: z.number().int().min(0).optional().describe('Stop at this 0-based epoch (YOLOX: with Mosaic, 15 epochs before the end)'),
  }),
  build: (p): PipelineStep => ({
    type: 'MixUp',
    ignoresMasks: true,
    mixImages: 1,
    apply(state, rng) {
      const [other] = takeExtras(state.extras, 1, 'MixUp');
      if (p.until_epoch !== undefined && (state.epoch ?? 0) >= p.until_epoch) return;
      // After a Mosaic step, only onto a mosaic with boxes (YOLOX's MosaicDetection); alone, always.
      if (state.mosaicked === false || (state.mosaicked && !state.boxes?.length)) return;
      if (!rng.chance(p.p)) return;
      mixup(state, other, p.scale, rng);
      state.frame = undefined;
    },
  }),
});
