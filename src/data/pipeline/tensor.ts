/** ToTensor and Normalize: from pixel intensities to the network's input scale. */
import { z } from 'zod';
import { register } from '../../core/registry';
import { UserError } from '../../core/problems';
import { writablePixels, type PipelineStep } from './step';

register('pipeline', {
  type: 'ToTensor',
  description: 'Scale pixel intensities from 0-255 to 0-1 (the layout stays HWC, as TensorFlow.js expects)',
  paper: 'torchvision ToTensor',
  params: z.strictObject({}),
  build: (): PipelineStep => ({
    type: 'ToTensor',
    apply(state) {
      const white = state.img.white;
      if (white === 1) return;
      if (white === undefined) throw new UserError('ToTensor must come before Normalize in the pipeline');
      const d = writablePixels(state);
      const s = 1 / white;
      for (let i = 0; i < d.length; i++) d[i] *= s;
      state.img = { ...state.img, white: 1 };
    },
  }),
});

const IMAGENET_MEAN = [0.485, 0.456, 0.406];
const IMAGENET_STD = [0.229, 0.224, 0.225];

register('pipeline', {
  type: 'Normalize',
  description: 'Subtract a mean and divide by a standard deviation per channel',
  paper: 'torchvision Normalize; the defaults are the ImageNet statistics on the 0-1 scale (after ToTensor)',
  params: z.strictObject({
    mean: z.array(z.number()).min(1).default(IMAGENET_MEAN).describe('Mean per channel (or one for all), on the scale of the image: 0-1 after ToTensor, 0-255 without it'),
    std: z
      .array(z.number().positive({ message: 'standard deviations must be > 0' }))
      .min(1)
      .default(IMAGENET_STD)
      .describe('Standard deviation per channel (or one for all), > 0'),
  }),
  build: (p): PipelineStep => ({
    type: 'Normalize',
    apply(state) {
      const C = state.img.channels;
      const fit = (v: number[], name: string) => {
        if (v.length === 1) return new Array<number>(C).fill(v[0]);
        if (v.length !== C) throw new UserError(`Normalize: ${name} has ${v.length} values but the image has ${C} channel${C === 1 ? '' : 's'}; give ${C} values or one`);
        return v;
      };
      const mean = fit(p.mean, 'mean');
      scaleCheck(state.img.white, p.mean, p.std);
      const inv = fit(p.std, 'std').map((s) => 1 / s);
      const d = writablePixels(state);
      if (C === 3) {
        const [m0, m1, m2] = mean;
        const [s0, s1, s2] = inv;
        for (let i = 0; i < d.length; i += 3) {
          d[i] = (d[i] - m0) * s0;
          d[i + 1] = (d[i + 1] - m1) * s1;
          d[i + 2] = (d[i + 2] - m2) * s2;
        }
      } else for (let i = 0; i < d.length; i += C) for (let c = 0; c < C; c++) d[i + c] = (d[i + c] - mean[c]) * inv[c];
      state.img = { ...state.img, white: undefined };
    },
  }),
});

/**
 * Statistics on the other scale than the image's: ImageNet's 0-1 defaults on 0-255 pixels (no
 * ToTensor before) turned a pixel of 200 into 871, silently (torchvision's Normalize takes only
 * tensors, so it cannot happen there).
 */
function scaleCheck(white: number | undefined, mean: number[], std: number[]): void {
  const small = [...mean, ...std].every((v) => Math.abs(v) <= 1);
  if (white === 255 && small) throw new UserError('Normalize: the image is on the 0-255 scale but mean and std are on the 0-1 scale; put ToTensor before Normalize, or give them on the 0-255 scale');
  if (white === 1 && mean.some((v) => Math.abs(v) > 1)) throw new UserError('Normalize: the image is on the 0-1 scale (after ToTensor) but the mean is on the 0-255 scale; divide mean and std by 255, or drop ToTensor');
}
