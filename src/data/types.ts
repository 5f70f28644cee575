/**
 * The contract between the input side and the trainer.
 *
 * A data source lists items (an image reference and, when known, a label). A dataset turns an item
 * into one sample through a pipeline of registered steps (decode, crop, flip, normalise, ...), or
 * into several views of the same image (SimCLR's two views, SwAV/DINO multi-crop). A loader groups
 * samples into batches in worker threads and prefetches them.
 *
 * Images travel as Float32Array in HWC order (TensorFlow.js is NHWC), already normalised by the
 * pipeline; the trainer turns a batch into tensors with one copy.
 */

/** A box of a detection item: [x, y, w, h] in pixels (COCO convention) and its class index. */
export interface Box {
  bbox: [number, number, number, number];
  label: number;
  /** The annotation id in the source file, for messages. */
  id?: number;
  /** The annotation's area in source pixels (COCO's `area`: the mask's), for evaluation's size buckets. */
  area?: number;
}

/** One item of a data source, before decoding. */
export interface SourceItem {
  /** An image file, or encoded bytes (TFRecord, in-memory sources), or raw pixels (idx, CIFAR). */
  image: ImageRef;
  /** Class index, when the source is labelled. */
  label?: number;
  /** Boxes for detection sources: [x, y, w, h] in pixels (COCO convention) with category indices. */
  boxes?: Box[];
  /**
   * Crowd regions (COCO `iscrowd`), in source pixels: never training targets; evaluation counts a
   * detection on one neither right nor wrong, as pycocotools does.
   */
  crowd?: Box[];
  /** The image's id in its source (COCO image id), for detection results files. */
  imageId?: number;
  /** Segmentation sources: the mask file (an indexed or grey PNG of class indices). */
  mask?: ImageRef;
  /** The mask's 0 is "unlabelled" (ADE20K): read it with mmsegmentation's reduce_zero_label (masks/decode.ts). */
  reduceZeroLabel?: boolean;
  /** Where the item came from, for error messages: `data/train.txt:12`, `shard-00001.tfrecord@4096`. */
  where: string;
}

export type ImageRef =
  | { kind: 'file'; path: string }
  | { kind: 'encoded'; bytes: Uint8Array; format?: string }
  | { kind: 'pixels'; data: Uint8Array; height: number; width: number; channels: number };

/** A data source: a random-access list of items with optional class names. */
export interface DataSource {
  readonly length: number;
  readonly classes?: string[];
  /** The id each class has in the source's own files (COCO category ids), for result files. */
  readonly categoryIds?: number[];
  /** Channels of its images once decoded: 1 (grey) or 3 (RGB). */
  readonly channels: number;
  item(index: number): SourceItem | Promise<SourceItem>;
  /** Release open files. */
  close?(): void;
}

/** What opening a source may need from the loader that opens it. */
export interface OpenContext {
  /** The split being read (train, val, test): sources with a `subset` default to it. */
  split: string;
  /** `data.skip_corrupt`: leave out bad entries found while opening instead of failing. */
  skipCorrupt: boolean;
  /** Record an entry left out while opening (a bad list line, an invalid annotation). */
  skip(where: string, reason: string): void;
  /** A path from a config, resolved against the working directory (OpenMMLab convention). */
  resolvePath(p: string): string;
}

/** A configured source, built by the registry; opened by the loader (or `cvw data`). */
export interface SourceFactory {
  readonly type: string;
  open(ctx: OpenContext): Promise<DataSource>;
}

/** A decoded, transformed image: HWC. */
export interface ImageTensor {
  /**
   * Uint8Array only for the decoded image all views of a sample start from (never changed: a
   * step that changes pixels gets its own Float32Array from `writablePixels`); Float32Array after.
   */
  data: Float32Array | Uint8Array;
  height: number;
  width: number;
  channels: number;
  /**
   * The value of full intensity: 255 as decoded, 1 after ToTensor, undefined once Normalize has
   * made values relative (colour steps need to know where white is).
   */
  white?: number;
}

/**
 * Where a view's pixels came from, for mapping predictions back to the source image: output
 * x = sx * source x + tx (likewise y), source image `width` x `height`. A negative sx is a flip.
 */
export interface Frame {
  sx: number;
  tx: number;
  sy: number;
  ty: number;
  width: number;
  height: number;
}

/** A batch of samples: `views[v]` holds view v of every sample, NHWC, contiguous. */
export interface Batch {
  views: Array<{ data: Float32Array; shape: [number, number, number, number] }>;
  /** Class labels, -1 where unknown. */
  labels?: Int32Array;
  /** Indices of the samples in the dataset (for kNN, retrieval, galleries). */
  indices: Int32Array;
  /**
   * The batch's place in the epoch (0-based), set by the loader: batches left out whole (every
   * item bad, with `data.skip_corrupt`) are not yielded but keep their places, so the position to
   * resume at is this plus one, not the number of batches received.
   */
  batchIndex?: number;
  /** Boxes of each sample in the output image's pixels (detection datasets). */
  boxes?: Box[][];
  /** Detection datasets whose source has crowd regions: each sample's, in source pixels (untouched by the pipeline). */
  crowd?: Box[][];
  /** Detection datasets: each sample's source image id (-1 when unknown). */
  imageIds?: Int32Array;
  /**
   * Detection datasets, and segmentation datasets read with source masks: each sample's view-0
   * frame (undefined after mixing steps).
   */
  frames?: Array<Frame | undefined>;
  /** Segmentation datasets: class indices of view 0's pixels, `[n, h, w]` (255 = ignore). */
  masks?: { data: Uint8Array; shape: [number, number, number] };
  /**
   * Segmentation datasets read with `sourceMasks` (scoring at the source resolution): each sample's
   * mask as decoded, before the pipeline (reduce_zero_label applied), at its image's own size.
   */
  sourceMasks?: Array<{ data: Uint8Array; width: number; height: number }>;
}
