/**
 * Pixel helpers of the detection steps: grey canvases (YOLOX pads with 114), resizing a whole
 * image, pasting a rectangle, and keeping boxes that still have an area.
 */
import type { Box, ImageTensor } from '../../types';
import { resampleRect } from '../resample';

/** YOLOX's padding grey, on the image's intensity scale. */
export function padValue(img: ImageTensor, value = 114): number {
  return img.white === undefined ? 0 : (value * img.white) / 255;
}

/** A `width` x `height` image of one grey level, with `like`'s channels and scale. */
export function canvas(like: ImageTensor, width: number, height: number, value: number): ImageTensor {
  return { data: new Float32Array(width * height * like.channels).fill(value), width, height, channels: like.channels, white: like.white };
}

/** The whole image resized to `width` x `height` (bilinear, as cv2.resize in YOLOX). */
export function resizeImage(img: ImageTensor, width: number, height: number): ImageTensor {
  if (width === img.width && height === img.height) return img;
  return { ...img, data: resampleRect(img, 0, 0, img.width, img.height, width, height, 'bilinear'), width, height };
}

/** Copy `src`'s rectangle (sx, sy, w, h) into `dst` at (dx, dy); both HWC with the same channels. */
export function paste(dst: ImageTensor, src: ImageTensor, sx: number, sy: number, w: number, h: number, dx: number, dy: number): void {
  const C = dst.channels;
  for (let y = 0; y < h; y++) {
    const from = ((sy + y) * src.width + sx) * C;
    dst.data.set(src.data.subarray(from, from + w * C), ((dy + y) * dst.width + dx) * C);
  }
}

/** Boxes scaled by (s) and shifted by (dx, dy), clipped to the `width` x `height` image; boxes left without area are dropped. */
export function moveBoxes(boxes: Box[], s: number, dx: number, dy: number, width: number, height: number): Box[] {
  const out: Box[] = [];
  for (const b of boxes) {
    const x1 = Math.min(Math.max(b.bbox[0] * s + dx, 0), width);
    const y1 = Math.min(Math.max(b.bbox[1] * s + dy, 0), height);
    const x2 = Math.min(Math.max((b.bbox[0] + b.bbox[2]) * s + dx, 0), width);
    const y2 = Math.min(Math.max((b.bbox[1] + b.bbox[3]) * s + dy, 0), height);
    if (x2 > x1 && y2 > y1) out.push({ ...b, bbox: [x1, y1, x2 - x1, y2 - y1] });
  }
  return out;
}

/** Take the next `n` mixing partners the loader attached to this view (fewer when it attached none). */
export function takeExtras(extras: Array<{ img: ImageTensor; boxes: Box[] }> | undefined, n: number, step: string): Array<{ img: ImageTensor; boxes: Box[] }> {
  const got = extras?.splice(0, n) ?? [];
  if (got.length < n) throw new Error(`${step}: the loader gave ${got.length} of the ${n} other images it mixes in (use ${step} in the first view of a DetDataset)`);
  return got;
}
