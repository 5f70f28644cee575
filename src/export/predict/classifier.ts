/**
 * Classifier: the top-k classes of each image with softmax scores and class names (from the
 * export's metadata; class indices as names when the data had none).
 */
import { UserError } from '../../core/problems';
import type { ExportMetadata } from '../metadata';
import type { InferenceBackend } from './backends';
import { Predictor, type ImageOutputs, type PredictorOptions } from './predictor';

export interface ClassScore {
  /** Class index. */
  label: number;
  /** Class name (the index as text when the model has no names). */
  name: string;
  /** Softmax probability. */
  score: number;
}

export interface Classification {
  /** The best class first; `topk` entries. */
  topk: ClassScore[];
  label: number;
  name: string;
  score: number;
}

export interface ClassifierOptions extends PredictorOptions {
  /** How many classes to return per image (default 5, at most the number of classes). */
  topk?: number;
}

/** Softmax of logits (numerically stable). */
export function softmax(logits: ArrayLike<number>): Float32Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]);
  const out = new Float32Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += out[i] = Math.exp(logits[i] - max);
  for (let i = 0; i < out.length; i++) out[i] /= sum;
  return out;
}

export class Classifier extends Predictor<Classification> {
  private output = 'logits';

  constructor(modelPath: string, options: ClassifierOptions = {}) {
    super(modelPath, options);
    const k = options.topk ?? 5;
    if (!Number.isInteger(k) || k < 1) throw new UserError(`topk must be a positive integer, got ${k}`);
  }

  protected check(backend: InferenceBackend): void {
    const m = backend.metadata;
    if (m.task !== 'classification') {
      throw new UserError(`${backend.path}: a ${m.task} model (${m.model}) has no class scores; use a FeatureExtractor${m.task === 'detection' ? ' or a Detector' : ''}`);
    }
    this.output = this.outputFor(backend, 'logits');
  }

  protected postprocess(outputs: ImageOutputs, _image: unknown, meta: ExportMetadata): Classification {
    const logits = outputs[this.output].data;
    const probs = softmax(logits);
    const k = Math.min((this.options as ClassifierOptions).topk ?? 5, probs.length);
    const order = Array.from(probs.keys())
      .sort((a, b) => probs[b] - probs[a] || a - b)
      .slice(0, k);
    const topk = order.map((label) => ({ label, name: meta.classes?.[label] ?? String(label), score: probs[label] }));
    return { topk, ...topk[0] };
  }
}
