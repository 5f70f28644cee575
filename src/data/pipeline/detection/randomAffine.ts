/**
 * RandomAffine: YOLOX's `random_affine` — rotation, isotropic scale, shear and translation,
 * warping the image (bilinear, grey border) and its boxes (the box around the four moved
 * corners, clipped). Unlike the reference, which turns about the top-left corner, the transform
 * maps the input's centre to the output's (as mmdetection's RandomAffine with YOLOX's border), so
 * a 2x mosaic canvas is cut around its middle.
 */
import { z } from 'zod';
import { register } from '../../../core/registry';
import type { Random } from '../../../core/random';
import type { Box, ImageTensor } from '../../types';
import { sizeHW } from '../image';
import { rangeParam, sizeParam, type PipelineStep, type ViewState } from '../step';
import { padValue } from './canvas';

export interface AffineParams {
  degrees: number;
  translate: number;
  scale: [number, number];
  shear: number;
  /** Boxes narrower or lower than this (pixels) after the warp are dropped. */
  min_box_size: number;
  /** Boxes keeping less than this fraction of their warped area inside the output are dropped. */
  min_area_ratio: number;
}

/** dst = A (src - srcCentre) + dstCentre + t, as a 2x3 matrix [a, b, c, d, e, f]: x' = a x + b y + c, y' = d x + e y + f. */
export function affineMatrix(p: AffineParams, rng: Random, inW: number, inH: number, outW: number, outH: number): number[] {
  const angle = (rng.uniform(-p.degrees, p.degrees) * Math.PI) / 180;
  const scale = rng.uniform(p.scale[0], p.scale[1]);
  const shearX = Math.tan((rng.uniform(-p.shear, p.shear) * Math.PI) / 180);
  const shearY = Math.tan((rng.uniform(-p.shear, p.shear) * Math.PI) / 180);
  const tx = rng.uniform(-p.translate, p.translate) * outW;
  const ty = rng.uniform(-p.translate, p.translate) * outH;
  // cv2.getRotationMatrix2D about the origin, then the reference's shear mixing of the rows.
  const al = scale * Math.cos(angle);
  const be = scale * Math.sin(angle);
  const r0 = [al, be];
  const r1 = [-be, al];
  const a = r0[0] + shearY * r1[0];
  const b = r0[1] + shearY * r1[1];
  const d = r1[0] + shearX * r0[0];
  const e = r1[1] + shearX * r0[1];
  const cx = inW / 2;
  const cy = inH / 2;
  return [a, b, outW / 2 + tx - a * cx - b * cy, d, e, outH / 2 + ty - d * cx - e * cy];
}

/** Warp `img` by the matrix `m` (source -> output, continuous pixel coordinates) into outW x outH. */
export function warpAffine(img: ImageTensor, m: number[], outW: number, outH: number, border: number): ImageTensor {
  const [a, b, c, d, e, f] = m;
  const det = a * e - b * d;
  // Inverse map: source = Minv (dst - t).
  const ia = e / det;
  const ib = -b / det;
  const id = -d / det;
  const ie = a / det;
  const C = img.channels;
  const W = img.width;
  const H = img.height;
  const src = img.data;
  const out = new Float32Array(outW * outH * C);
  for (let y = 0; y < outH; y++) {
    for (let x = 0; x < outW; x++) {
      const u = x + 0.5 - c;
      const v = y + 0.5 - f;
      // Source position in index space (pixel centres at integers).
      const sx = ia * u + ib * v - 0.5;
      const sy = id * u + ie * v - 0.5;
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const fx = sx - x0;
      const fy = sy - y0;
      const o = (y * outW + x) * C;
      for (let ch = 0; ch < C; ch++) {
        const px = (xx: number, yy: number) => (xx >= 0 && yy >= 0 && xx < W && yy < H ? src[(yy * W + xx) * C + ch] : border);
        const top = px(x0, y0) * (1 - fx) + px(x0 + 1, y0) * fx;
        const bottom = px(x0, y0 + 1) * (1 - fx) + px(x0 + 1, y0 + 1) * fx;
        out[o + ch] = top * (1 - fy) + bottom * fy;
      }
    }
  }
  return { ...img, data: out, width: outW, height: outH };
}

/** Boxes through the matrix: the box around the moved corners, clipped, filtered (see AffineParams). */
export function warpBoxes(boxes: Box[], m: number[], outW: number, outH: number, minSize: number, minAreaRatio: number): Box[] {
  const [a, b, c, d, e, f] = m;
  const out: Box[] = [];
  for (const box of boxes) {
    const [x, y, w, h] = box.bbox;
    const xs: number[] = [];
    const ys: number[] = [];
    for (const [px, py] of [
      [x, y],
      [x + w, y],
      [x, y + h],
      [x + w, y + h],
    ]) {
      xs.push(a * px + b * py + c);
      ys.push(d * px + e * py + f);
    }
    const x1 = Math.min(...xs);
    const y1 = Math.min(...ys);
    const x2 = Math.max(...xs);
    const y2 = Math.max(...ys);
    const cx1 = Math.min(Math.max(x1, 0), outW);
    const cy1 = Math.min(Math.max(y1, 0), outH);
    const cx2 = Math.min(Math.max(x2, 0), outW);
    const cy2 = Math.min(Math.max(y2, 0), outH);
    const cw = cx2 - cx1;
    const ch = cy2 - cy1;
    if (cw <= minSize || ch <= minSize) continue;
    if ((cw * ch) / ((x2 - x1) * (y2 - y1)) < minAreaRatio) continue;
    out.push({ ...box, bbox: [cx1, cy1, cw, ch] });
  }
  return out;
}

/** Apply a random affine to the state, output `outW` x `outH`; the frame is lost (rotation and shear are not a per-axis map). */
export function randomAffine(state: ViewState, p: AffineParams, rng: Random, outW: number, outH: number): void {
  const img = state.img;
  const m = affineMatrix(p, rng, img.width, img.height, outW, outH);
  state.img = warpAffine(img, m, outW, outH, padValue(img));
  if (state.boxes) state.boxes = warpBoxes(state.boxes, m, outW, outH, p.min_box_size, p.min_area_ratio);
  state.frame = undefined;
}

export const affineShape = {
  degrees: z.number().min(0).max(180).default(10).describe('Largest rotation, in degrees'),
  translate: z.number().min(0).max(1).default(0.1).describe('Largest translation, as a fraction of the output size'),
  scale: rangeParam(0.1, 2, 0.01).describe('Range of the scale factor (YOLOX 0.1-2; nano and tiny 0.5-1.5)'),
  shear: z.number().min(0).max(45).default(2).describe('Largest shear, in degrees'),
  min_box_size: z.number().min(0).default(2).describe('Boxes with a side of this many pixels or less after the warp are dropped'),
  min_area_ratio: z.number().min(0).max(1).default(0.2).describe('Boxes with less than this fraction of their warped area inside the image are dropped'),
};

register('pipeline', {
  type: 'RandomAffine',
  description: 'Random rotation, scale, shear and translation of the image and its boxes, with a grey border (YOLOX random_affine)',
  paper: 'Ge et al., YOLOX, arXiv:2107.08430 (data_augment.random_affine)',
  params: z.strictObject({
    size: sizeParam.optional().describe('Output size (default: the input size)'),
    ...affineShape,
    until_epoch: z.number().int().min(0).optional().describe('Stop at this 0-based epoch (YOLOX turns strong augmentation off for its last epochs)'),
  }),
  build: (p): PipelineStep => ({
    type: 'RandomAffine',
    ignoresMasks: true,
    apply(state, rng) {
      if (p.until_epoch !== undefined && (state.epoch ?? 0) >= p.until_epoch) return;
      const [h, w] = p.size ? sizeHW(p.size) : [state.img.height, state.img.width];
      randomAffine(state, p, rng, w, h);
    },
  }),
});
