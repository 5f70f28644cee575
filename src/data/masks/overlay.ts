/**
 * Masks as pictures: each class index painted in its palette colour, alone or blended over the
 * image (what `cvw predict --draw` and the run report show). Plain loops over the bytes, no image
 * library: the CLI bundled with the editor has none. Colours follow mmsegmentation's
 * show_result: `(1 - opacity) * image + opacity * colour` for every pixel, the background class
 * included; the value 255 (ignored, or not covered by the network input) keeps the image as it is.
 */
import type { MaskImage } from './png';

/** Mask value left out of the drawing (VOC borders, pixels the prediction does not cover). */
export const UNDRAWN = 255;

/** An 8-bit RGB image, row-major. */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 3;
}

/** 8-bit pixels with 1 (grey) or 3 (RGB) channels; grey is drawn as RGB. */
export interface PixelBytes {
  data: Uint8Array | Uint8ClampedArray | Float32Array | number[];
  width: number;
  height: number;
  channels?: number;
}

function checkSize(mask: MaskImage, width: number, height: number, what: string): void {
  if (mask.width !== width || mask.height !== height) throw new Error(`${what}: the mask is ${mask.width}x${mask.height} but the image ${width}x${height}`);
  if (mask.data.length !== width * height) throw new Error(`${what}: the mask has ${mask.data.length} values for ${width}x${height} pixels`);
}

/** The mask in its palette's colours (`palette`: RGB triples by class index); 255 is black. */
export function colorizeMask(mask: MaskImage, palette: Uint8Array): RgbImage {
  const data = new Uint8Array(mask.width * mask.height * 3);
  for (let i = 0; i < mask.data.length; i++) {
    const v = mask.data[i];
    if (v === UNDRAWN) continue;
    data[3 * i] = palette[3 * v];
    data[3 * i + 1] = palette[3 * v + 1];
    data[3 * i + 2] = palette[3 * v + 2];
  }
  return { data, width: mask.width, height: mask.height, channels: 3 };
}

/** The image (grey or RGB, values clamped to 0-255) with the mask's colours blended over it at `opacity`. */
export function blendMask(image: PixelBytes, mask: MaskImage, palette: Uint8Array, opacity = 0.5): RgbImage {
  const { width, height } = image;
  const c = image.channels ?? 3;
  if (c !== 1 && c !== 3) throw new Error(`blendMask: images with ${c} channels are not drawn (1 or 3)`);
  checkSize(mask, width, height, 'blendMask');
  const data = new Uint8Array(width * height * 3);
  const byte = (v: number) => Math.max(0, Math.min(255, Math.round(v)));
  for (let i = 0; i < width * height; i++) {
    const v = mask.data[i];
    for (let k = 0; k < 3; k++) {
      const px = byte(image.data[i * c + (c === 1 ? 0 : k)]);
      data[3 * i + k] = v === UNDRAWN ? px : Math.round((1 - opacity) * px + opacity * palette[3 * v + k]);
    }
  }
  return { data, width, height, channels: 3 };
}
