/**
 * A name map between a public model family's state dict (torchvision, timm) and this toolkit's
 * Classification model (`backbone.*`, `head.fc.*`). Names map both ways; layouts follow from the
 * kind of tensor (see src/weights/layout.ts).
 */
import type { WeightTensor } from '../tensor';

/**
 * `scale`: a per-channel factor, [C, 1, 1] in PyTorch (torchvision's layer scale), [C] here.
 * `scale_nhwc`: a per-channel factor over a channels-last map, [1, 1, 1, C] in PyTorch (the ConvNeXt V2 code's GRN), [C] here.
 * `pointwise`: a linear layer that PyTorch may hold as a 1x1 convolution ([out, in] or [out, in, 1, 1]), [in, out] here.
 */
export type Layout = 'conv' | 'dwconv' | 'linear' | 'pointwise' | 'scale' | 'scale_nhwc' | 'same';

/** What a foreign state dict was recognised as. */
export interface Detected {
  /** e.g. "ResNet-50 (torchvision/timm names)". */
  variant: string;
  /** The toolkit backbone config that holds these weights. */
  backbone: Record<string, unknown> & { type: string };
  numClasses?: number;
  /**
   * The whole toolkit model, for maps of whole models (YOLOX: backbone, neck and head); absent for
   * classifiers (a Classification of `backbone` with a ClsHead of `numClasses`).
   */
  model?: Record<string, unknown> & { type: string };
  /** Why the toolkit cannot load it, when it cannot (an unsupported depth). */
  unsupported?: string;
}

export interface WeightMap {
  /** The toolkit backbone type (`ResNet`). */
  readonly backbone: string;
  /** Formats `cvw weights export --format` accepts for this family. */
  readonly formats: readonly string[];
  /** The toolkit model type a map of whole models covers (YOLOX: backbone, neck and head); absent for backbone maps. */
  readonly model?: string;
  detect(tensors: Map<string, WeightTensor>): Detected | undefined;
  /** Toolkit name of a foreign key; undefined when it has no counterpart; null when it is dropped on purpose (num_batches_tracked). */
  toToolkit(name: string): string | null | undefined;
  /** Foreign name of a toolkit key (inverse of `toToolkit`). */
  toForeign(name: string): string | undefined;
  /** Layout of a toolkit tensor (default: by rank, 4 -> conv, 2 -> linear). */
  layout?(toolkitName: string): Layout | undefined;
  /**
   * A tensor whose shape differs from the model's, made to fit when that is meaningful (position
   * embeddings for another grid); undefined when it is a real mismatch.
   */
  adapt?(toolkitName: string, t: WeightTensor, shape: number[]): WeightTensor | undefined;
  /** Constants PyTorch's strict loading expects that the toolkit does not store, added on export; layouts the backbone's config decides. */
  exportExtras?(foreign: Map<string, WeightTensor>, backbone: Record<string, unknown>): void;
  /** Why a toolkit backbone config cannot be exported with this map, or undefined. */
  exportProblem?(backbone: Record<string, unknown>): string | undefined;
}

/**
 * Rename by the first matching pair (foreign, toolkit), in either direction: `conv1.weight` matches
 * exactly, `layer*` matches a prefix and keeps the rest of the name.
 */
export function prefixRules(rules: Array<[string, string]>) {
  const apply = (name: string, from: 0 | 1): string | undefined => {
    for (const r of rules) {
      const [a, b] = [r[from], r[1 - from]];
      if (!a.endsWith('*')) {
        if (name === a) return b;
      } else if (name.startsWith(a.slice(0, -1))) return b.slice(0, -1) + name.slice(a.length - 1);
    }
    return undefined;
  };
  return { toToolkit: (n: string) => apply(n, 0), toForeign: (n: string) => apply(n, 1) };
}

/** Batch-norm step counters: PyTorch keeps them, the toolkit does not need them. */
export const NUM_BATCHES_TRACKED = /(^|\.)num_batches_tracked$/;
