/**
 * The detection gallery of the run report: each image with the detector's boxes drawn into its
 * pixels (plain JavaScript, no image library: the CLI bundled with the editor has none), and the
 * detections and ground truth as data the report lists beside it.
 */
import type { Box } from '../data/types';
import type { Detection, PixelImage } from '../export/predict';
import type { DetectionGalleryItem } from './model/report';

/** Box colours by class (RGB), the palette of `cvw predict --draw`. */
export const BOX_COLORS: Array<[number, number, number]> = [
  [230, 25, 75],
  [60, 180, 75],
  [67, 99, 216],
  [245, 130, 49],
  [145, 30, 180],
  [66, 212, 244],
  [240, 50, 230],
  [191, 239, 69],
];

/** A copy of the 8-bit image with each box's outline drawn in its class colour. */
export function drawBoxes(p: PixelImage, boxes: Array<{ box: number[]; label: number }>): PixelImage {
  const c = p.channels ?? 3;
  const data = Uint8Array.from(p.data);
  const { width: W, height: H } = p;
  const t = Math.max(1, Math.round(Math.min(W, H) / 150));
  const put = (x: number, y: number, rgb: [number, number, number]) => {
    if (x < 0 || y < 0 || x >= W || y >= H) return;
    const o = (y * W + x) * c;
    if (c === 1) data[o] = Math.round(0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]);
    else for (let k = 0; k < 3; k++) data[o + k] = rgb[k];
  };
  for (const { box, label } of boxes) {
    const rgb = BOX_COLORS[label % BOX_COLORS.length];
    const [x1, y1, x2, y2] = box.map((v) => Math.round(v));
    for (let k = 0; k < t; k++) {
      for (let x = x1; x <= x2; x++) {
        put(x, y1 + k, rgb);
        put(x, y2 - k, rgb);
      }
      for (let y = y1; y <= y2; y++) {
        put(x1 + k, y, rgb);
        put(x2 - k, y, rgb);
      }
    }
  }
  return { ...p, data };
}

const r2 = (v: number) => Math.round(v * 100) / 100;

/** One gallery entry: the drawn image (already written, `image`), its detections and its ground truth. */
export function galleryEntry(image: string, index: number, detections: Detection[], gt: Box[] | undefined, classes: string[] | undefined): DetectionGalleryItem {
  return {
    image,
    index,
    detections: detections.map((d) => ({ box: d.box.map(r2) as [number, number, number, number], score: Math.round(d.score * 1e4) / 1e4, label: d.label, name: d.name })),
    gt: gt?.map((b) => ({ box: [b.bbox[0], b.bbox[1], b.bbox[0] + b.bbox[2], b.bbox[1] + b.bbox[3]].map(r2) as [number, number, number, number], label: b.label, name: classes?.[b.label] ?? String(b.label) })),
  };
}
