/**
 * FeatureExtractor: one L2-normalised embedding per image (the backbone's pooled features), so
 * that the dot product of two embeddings is their cosine similarity — image retrieval and
 * near-duplicate matching, the use self-supervised features are trained for.
 */
import { UserError } from '../../core/problems';
import type { InferenceBackend } from './backends';
import { Predictor, type ImageOutputs } from './predictor';

/** `v / ||v||` (a zero vector stays zero). */
export function l2Normalise(v: ArrayLike<number>): Float32Array {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += v[i] * v[i];
  const inv = sum > 0 ? 1 / Math.sqrt(sum) : 0;
  return Float32Array.from(v, (x) => x * inv);
}

export class FeatureExtractor extends Predictor<Float32Array> {
  private output = 'features';

  protected check(backend: InferenceBackend): void {
    const m = backend.metadata;
    const name = this.outputFor(backend, 'features');
    if (!backend.outputNames.includes(name)) throw new UserError(`${backend.path}: the model has no features output`);
    if (m.task === 'classification' && !Object.values(m.outputs).some((o) => o.kind === 'features')) {
      throw new UserError(`${backend.path}: this classifier was exported without its features; export it again with a current cvw`);
    }
    this.output = name;
  }

  protected postprocess(outputs: ImageOutputs): Float32Array {
    return l2Normalise(outputs[this.output].data);
  }

  /** Embedding size, from the model's metadata. */
  async dim(): Promise<number | undefined> {
    const meta = await this.metadata();
    const shape = Object.values(meta.outputs).find((o) => o.kind === 'features')?.shape;
    const d = shape?.[shape.length - 1];
    return typeof d === 'number' ? d : undefined;
  }
}
