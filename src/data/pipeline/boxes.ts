/** Boxes through geometric steps: the same crop, scale and flip as the image, clipped to it. */
import type { Box } from '../types';

/**
 * Boxes after cropping the rectangle (x0, y0, cw, ch) and resizing it to outW x outH; boxes left
 * with no area inside the output are dropped.
 */
export function cropResizeBoxes(boxes: Box[], x0: number, y0: number, cw: number, ch: number, outW: number, outH: number): Box[] {
  const sx = outW / cw;
  const sy = outH / ch;
  const out: Box[] = [];
  for (const b of boxes) {
    const [x, y, w, h] = b.bbox;
    const left = Math.max(0, (x - x0) * sx);
    const top = Math.max(0, (y - y0) * sy);
    const right = Math.min(outW, (x + w - x0) * sx);
    const bottom = Math.min(outH, (y + h - y0) * sy);
    if (right - left <= 0 || bottom - top <= 0) continue;
    out.push({ ...b, bbox: [left, top, right - left, bottom - top] });
  }
  return out;
}

/** Boxes mirrored left-right in an image `width` pixels wide. */
export function flipBoxes(boxes: Box[], width: number): Box[] {
  return boxes.map((b) => ({ ...b, bbox: [width - b.bbox[0] - b.bbox[2], b.bbox[1], b.bbox[2], b.bbox[3]] }));
}
