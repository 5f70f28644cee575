/**
 * The most pixels an image may have before it is decoded (every decoder checks the header against
 * it before allocating), and what is said when an image has more.
 */
import { limitFromEnv } from '../core/boundedRead';
import { UserError } from '../core/problems';

/**
 * Most pixels an image may have before it is decoded. A 249 KB PNG can announce 16000x16000
 * pixels (768 MB of RGB); libvips checks the header against this before it allocates anything.
 */
export const DEFAULT_MAX_IMAGE_PIXELS = 100_000_000;
export const MAX_IMAGE_PIXELS_ENV = 'CVW_MAX_IMAGE_PIXELS';

/** The pixel limit: `CVW_MAX_IMAGE_PIXELS`, else 100 megapixels. */
export function maxImagePixels(): number {
  return limitFromEnv(MAX_IMAGE_PIXELS_ENV, DEFAULT_MAX_IMAGE_PIXELS);
}

/**
 * Raise (or lower) the pixel limit; undefined goes back to the default. It is kept in the
 * environment variable so that the data loader's worker threads started afterwards share it.
 */
export function setMaxImagePixels(pixels: number | undefined): void {
  if (pixels === undefined) {
    delete process.env[MAX_IMAGE_PIXELS_ENV];
    return;
  }
  if (!(Number.isSafeInteger(pixels) && pixels > 0)) throw new UserError(`the image pixel limit must be a positive integer, got ${pixels}`);
  process.env[MAX_IMAGE_PIXELS_ENV] = String(pixels);
}

/** Why an image of `width` x `height` is refused under `limit` pixels. */
export function tooManyPixels(width: number, height: number, limit = maxImagePixels(), subject = 'the image is'): string {
  return `${subject} ${width}x${height} = ${(width * height).toLocaleString('en')} pixels, more than the limit of ${limit.toLocaleString('en')} (set ${MAX_IMAGE_PIXELS_ENV} to raise it)`;
}
