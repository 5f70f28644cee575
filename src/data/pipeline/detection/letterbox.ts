/**
 * LetterboxResize: YOLOX's `preproc` — resize keeping the aspect ratio so the image fits
 * `size`, then pad the right and bottom with grey 114. Boxes and the frame follow, so detections
 * map back to the source image by dividing by the ratio.
 */
import { z } from 'zod';
import { register } from '../../../core/registry';
import { sizeHW } from '../image';
import { composeFrame, sizeParam, type PipelineStep } from '../step';
import { canvas, moveBoxes, padValue, paste, resizeImage } from './canvas';

register('pipeline', {
  type: 'LetterboxResize',
  description: 'Resize keeping the aspect ratio to fit `size`, padding the right and bottom with grey (YOLOX preproc)',
  paper: 'Ge et al., YOLOX, arXiv:2107.08430 (data_augment.preproc)',
  params: z.strictObject({
    size: sizeParam.describe('Output size: one number for a square, or [height, width]'),
    pad_value: z.number().default(114).describe('Grey level of the padding, on the 0-255 scale'),
  }),
  build: (p): PipelineStep => {
    const [H, W] = sizeHW(p.size);
    return {
      type: 'LetterboxResize',
      ignoresMasks: true,
      apply(state) {
        const img = state.img;
        const r = Math.min(H / img.height, W / img.width);
        const w = Math.trunc(img.width * r);
        const h = Math.trunc(img.height * r);
        if (w === W && h === H && img.width === W && img.height === H) return;
        const resized = resizeImage(img, w, h);
        const out = canvas(img, W, H, padValue(img, p.pad_value));
        paste(out, resized, 0, 0, w, h, 0, 0);
        state.img = out;
        if (state.boxes) state.boxes = moveBoxes(state.boxes, r, 0, 0, W, H);
        state.frame = composeFrame(state.frame, r, 0, r, 0);
      },
    };
  },
});
