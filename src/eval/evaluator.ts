/** Evaluators turn a model's predictions on a dataset into metrics (and artifacts in the run). */

/** Everything a model produced over one evaluation dataset, in dataset order. */
export interface Predictions {
  count: number;
  /** Labels, -1 where unknown. */
  labels?: Int32Array;
  /** Class scores, `count x numClasses`, row-major. */
  logits?: Float32Array;
  numClasses?: number;
  /** Features, `count x dim`, row-major. */
  features?: Float32Array;
  dim?: number;
  classes?: string[];
  /** Dataset indices of the rows. */
  indices: Int32Array;
}

export interface EvalContext {
  /** The evaluation's name (its split): the prefix of its metrics. */
  name: string;
  /** Folder for artifacts (confusion matrices, per-class tables); undefined when nothing is saved. */
  outDir?: string;
}

export interface Evaluator {
  readonly name: string;
  /** What the evaluator needs the model to produce. */
  readonly needs: Array<'logits' | 'features'>;
  evaluate(p: Predictions, ctx: EvalContext): Record<string, number>;
}
