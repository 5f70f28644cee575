/**
 * Segmenter: the class of every pixel of each image, from an exported (or trained) segmentor
 * (EncoderDecoder). The export gives the `logits` at the network input; they are resized back to
 * the image's own pixels through the pre-processing's frame (bilinear, as SegEvaluator's
 * `resolution: source` and mmsegmentation do: src/eval/segSource.ts) and their argmax taken, 255
 * where the network input did not cover the image. An export without logits has its argmax
 * `mask` mapped back by nearest pixel instead.
 *
 *   const seg = new Segmenter('work_dirs/fcn/run/export/model.onnx');
 *   const { mask, width, height, classes } = await seg.predict('street.jpg');
 */
import { UserError } from '../../core/problems';
import type { ExportMetadata } from '../metadata';
import type { InferenceBackend } from './backends';
import type { PreparedImage } from './images';
import { Predictor, type ImageOutputs } from './predictor';
import { sourcePrediction } from '../../eval/segSource';

export interface SegmentationResult {
  /** Class index of each pixel of the input image, row-major (255: not covered by the network input). */
  mask: Uint8Array;
  width: number;
  height: number;
  /** Class names (the index as text when the model has none). */
  classes: string[];
}

export class Segmenter extends Predictor<SegmentationResult> {
  protected check(backend: InferenceBackend): void {
    const m = backend.metadata;
    if (m.task !== 'segmentation') throw new UserError(`${backend.path}: a ${m.task} model (${m.model}) has no per-pixel classes; use a ${m.task === 'detection' ? 'Detector' : m.task === 'classification' ? 'Classifier' : 'FeatureExtractor'}`);
    if (!backend.outputNames.includes('mask')) throw new UserError(`${backend.path}: the segmentor has no "mask" output (outputs: ${backend.outputNames.join(', ')}); export it again with a current cvw`);
  }

  protected postprocess(outputs: ImageOutputs, image: PreparedImage, meta: ExportMetadata): SegmentationResult {
    const out = outputs.mask;
    const [h, w] = out.shape.slice(-2);
    const { width: W, height: H } = image.original;
    const f = image.frame ?? { sx: w / W, tx: 0, sy: h / H, ty: 0 };
    const logits = outputs.logits;
    const k = logits?.shape[logits.shape.length - 1] ?? meta.classes?.length ?? 0;
    const classes = Array.from({ length: k }, (_, i) => meta.classes?.[i] ?? String(i));
    if (logits && logits.shape.length === 3 && logits.shape[0] === h && logits.shape[1] === w) {
      const data = logits.data instanceof Float32Array ? logits.data : Float32Array.from(logits.data);
      const pred = sourcePrediction(data, h, w, k, { ...f, width: W, height: H });
      return { mask: Uint8Array.from(pred, (c) => (c < 0 ? 255 : c)), width: W, height: H, classes };
    }
    const cols = Int32Array.from({ length: W }, (_, x) => Math.floor(f.sx * (x + 0.5) + f.tx));
    const mask = new Uint8Array(W * H);
    for (let y = 0; y < H; y++) {
      const r = Math.floor(f.sy * (y + 0.5) + f.ty);
      for (let x = 0; x < W; x++) {
        const c = cols[x];
        mask[y * W + x] = r < 0 || r >= h || c < 0 || c >= w ? 255 : out.data[r * w + c];
      }
    }
    return { mask, width: W, height: H, classes };
  }
}
