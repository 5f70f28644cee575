/**
 * Turning items into one batch: decode each image once, run every view's pipeline with the
 * random stream of (seed, epoch, index, view), and copy the views into contiguous NHWC arrays.
 * The same code runs in the decoding workers and, with `data.workers: 0`, on the main thread, so
 * the batches are identical whatever the number of workers.
 */
import { limitFromEnv } from '../../core/boundedRead';
import { gigabytes } from '../../core/format';
import { describeMemoryLimit, memoryLimit } from '../../core/memoryLimit';
import { randomFor, type Random } from '../../core/random';
import { UserError } from '../../core/problems';
import { NativeModuleError } from '../../core/nativeModules';
import { decodeImage } from '../decode';
import { decodeMask } from '../masks/decode';
import type { MaskImage } from '../masks/png';
import { DataError, describeItemError } from '../errors';
import { buildPipeline, runPipeline, type PipelineStep, type ViewState } from '../pipeline';
import type { Batch, Box, Frame, ImageTensor } from '../types';
import type { BatchResult, Failure, TaskItem, WorkerInit } from './protocol';

/** The random stream of the shared steps: apart from every view's (0, 1, ...). */
const SHARED_STREAM = 0x736861;

interface Made {
  item: TaskItem;
  views: ImageTensor[];
  boxes?: Box[];
  frame?: Frame;
  mask?: MaskImage;
  /** The mask as decoded, before the pipeline (`withSourceMasks`). */
  sourceMask?: MaskImage;
}

export class BatchMaker {
  /** The mask of `item`, which must have the size of its image. */
  private async readMask(item: TaskItem, img: ImageTensor): Promise<MaskImage> {
    if (!item.mask) throw new DataError(item.where, 'no mask for this image (a segmentation dataset needs one per image)');
    const mask = await decodeMask(item.mask, item.where, item.reduceZeroLabel);
    if (mask.width !== img.width || mask.height !== img.height) {
      throw new DataError(item.where, `mask is ${mask.width}x${mask.height} but the image is ${img.width}x${img.height}`);
    }
    return mask;
  }

  private readonly views: PipelineStep[][];
  private readonly shared: PipelineStep[];
  /** Why view 0 cannot carry a mask (its detection steps), said for each item that has one. */
  private readonly maskBlind: string | undefined;

  constructor(private readonly init: WorkerInit) {
    this.views = init.views.map((steps) => buildPipeline(steps));
    this.shared = buildPipeline(init.shared ?? []);
    this.maskBlind = maskBlindSteps(this.views[0] ?? []);
  }

  async make(epoch: number, items: TaskItem[]): Promise<BatchResult> {
    const failures: Failure[] = [];
    let fatal: string | undefined;
    // A bad image fails its item; no decoder at all (sharp missing) fails the batch once, under its own name.
    const failed = (err: unknown, index: number, where: string): undefined => {
      if (err instanceof NativeModuleError) fatal ??= err.message;
      else failures.push({ index, ...describeItemError(err, where) });
      return undefined;
    };
    const makeOne = async (item: TaskItem): Promise<Made | undefined> => {
      let decoded: ImageTensor;
      let mask: MaskImage | undefined;
      try {
        decoded = await decodeImage(item.image, this.init.channels, item.where);
        if (this.init.withMasks) mask = await this.readMask(item, decoded);
      } catch (err) {
        return failed(err, item.index, item.where);
      }
      // Mixing steps' other samples: a bad one fails this item, as its own image would.
      const extras: Array<{ img: ImageTensor; boxes: Box[] }> = [];
      for (const extra of item.extras ?? []) {
        try {
          extras.push({ img: await decodeImage(extra.image, this.init.channels, extra.where), boxes: extra.boxes ?? [] });
        } catch (err) {
          return failed(err, item.index, extra.where);
        }
      }
      try {
        const views: ImageTensor[] = [];
        let boxes: Box[] | undefined;
        let frame: Frame | undefined;
        let outMask: MaskImage | undefined;
        if (mask && this.maskBlind) throw new UserError(this.maskBlind);
        // The shared steps run once, on their own random stream; every view starts from their result.
        const start = this.shared.length ? runPipeline(this.shared, { img: decoded, shared: decoded.data, epoch }, randomFor(this.init.seed, epoch, item.index, SHARED_STREAM)).img : decoded;
        for (let v = 0; v < this.views.length; v++) {
          const withBoxes = this.init.withBoxes;
          const sourceFrame = v === 0 && !!mask && !!this.init.withSourceMasks;
          const state = (sourceFrame ? runKeepingFrame : runPipeline)(
            this.views[v],
            {
              img: start,
              shared: start.data,
              boxes: withBoxes ? item.boxes ?? [] : undefined,
              mask: v === 0 ? mask : undefined,
              frame: withBoxes || sourceFrame ? { sx: 1, tx: 0, sy: 1, ty: 0, width: decoded.width, height: decoded.height } : undefined,
              extras: v === 0 ? extras : [],
              epoch,
            },
            randomFor(this.init.seed, epoch, item.index, v),
          );
          views.push(state.img);
          if (v === 0) ({ boxes, frame, mask: outMask } = state);
        }
        if (mask) checkMaskFollowed(outMask, views[0], this.init.views[0].map((s) => s.type));
        return { item, views, boxes, frame, mask: outMask, sourceMask: this.init.withSourceMasks ? mask : undefined };
      } catch (err) {
        // A pipeline that throws on a decoded image is a config mistake (Normalize's channels...).
        if (err instanceof UserError) fatal ??= `${item.where}: ${err.message}`;
        else failures.push({ index: item.index, where: item.where, reason: `pipeline failed: ${(err as Error).message}` });
        return undefined;
      }
    };
    // The first sample alone: its views say what the whole batch will hold, before the others are
    // made (a crop of 10,000 pixels a side, 1.2 GB a view, made 64 at a time took the machine's memory).
    const first = await makeOne(items[0]);
    const tooLarge = first && batchTooLarge(first, items.length);
    if (tooLarge) return { failures, fatal: tooLarge };
    const made = [first, ...(await Promise.all(items.slice(1).map(makeOne)))];
    if (fatal) return { failures, fatal };
    const ok = made.filter((m): m is Made => m !== undefined);
    failures.sort((a, b) => a.index - b.index);
    if (!ok.length) return { failures };
    try {
      return { batch: collate(ok, this.init), failures };
    } catch (err) {
      return { failures, fatal: (err as Error).message };
    }
  }
}

/** Steps that move pixels but not masks (the detection steps): a config mistake in a pipeline of masks, said in words. */
function maskBlindSteps(steps: PipelineStep[]): string | undefined {
  const blind = steps.filter((s) => s.ignoresMasks).map((s) => s.type);
  return blind.length ? `${[...new Set(blind)].join(', ')} move${blind.length === 1 ? 's' : ''} the image and its boxes but not its segmentation mask; ${MASK_STEPS}` : undefined;
}

const MASK_STEPS = 'segmentation pipelines can use Resize, RandomResizedCrop, CenterCrop, RandomHorizontalFlip and the colour steps';

/**
 * runPipeline for scoring at the source resolution: after each step the view's frame must still
 * say where its pixels come from. A step that drops it, or changes the image's size and leaves it
 * as it was (a custom step that does not compose it), is named.
 */
function runKeepingFrame(steps: PipelineStep[], state: ViewState, rng: Random): ViewState {
  for (const step of steps) {
    const { width, height } = state.img;
    const before = state.frame && { ...state.frame };
    step.apply(state, rng);
    const f = state.frame;
    const resized = state.img.width !== width || state.img.height !== height;
    const unchanged = f && before && f.sx === before.sx && f.tx === before.tx && f.sy === before.sy && f.ty === before.ty;
    if (!f || (resized && unchanged)) {
      throw new UserError(
        `${step.type} ${f ? 'changes the image size but not its frame' : 'loses the frame'} (where each pixel comes from in the source image), which SegEvaluator needs to score at the source resolution; ` +
          `use SegEvaluator's resolution: pipeline, or ${MASK_STEPS}`,
      );
    }
  }
  return state;
}

/** A view-0 pipeline step that changed the image's size without moving the mask is a config mistake. */
function checkMaskFollowed(mask: MaskImage | undefined, img: ImageTensor, steps: string[]): void {
  if (mask && mask.width === img.width && mask.height === img.height) return;
  throw new UserError(
    `the mask no longer matches the image after the pipeline (${mask ? `${mask.width}x${mask.height}` : 'dropped'} vs ${img.width}x${img.height}): one of its steps (${steps.join(', ')}) does not transform masks; ` +
      MASK_STEPS,
  );
}

/** What a batch's arrays may take: an eighth of the memory this process may use, or CVW_MAX_BATCH_BYTES. */
function maxBatchBytes(): number {
  return limitFromEnv(MAX_BATCH_BYTES_ENV, Math.floor(memoryLimit().bytes / 8));
}
export const MAX_BATCH_BYTES_ENV = 'CVW_MAX_BATCH_BYTES';

/** Why a batch of `n` samples like `sample` is refused (its float32 views and mask), or undefined. */
function batchTooLarge(sample: Made, n: number): string | undefined {
  const perSample = sample.views.reduce((sum, v) => sum + v.height * v.width * v.channels * 4, 0) + (sample.mask ? sample.mask.width * sample.mask.height : 0);
  const bytes = n * perSample;
  const limit = maxBatchBytes();
  if (bytes <= limit) return undefined;
  const views = sample.views.map((v) => `${v.width}x${v.height}x${v.channels}`).join(' + ');
  return `a batch of ${n} samples of ${views} takes ${gigabytes(bytes)} GB, more than the ${gigabytes(limit)} GB a batch may take (an eighth of ${describeMemoryLimit()} of memory; set ${MAX_BATCH_BYTES_ENV} to raise it): lower the dataset's batch_size or the size its pipeline gives`;
}

/** Views stacked into NHWC arrays; every sample's view v must have the same size. */
function collate(samples: Made[], init: WorkerInit): Batch {
  const n = samples.length;
  const views = init.views.map((_, v) => {
    const first = samples[0].views[v];
    const { height: h, width: w, channels: c } = first;
    const size = h * w * c;
    const data = new Float32Array(n * size);
    samples.forEach((s, i) => {
      const img = s.views[v];
      if (img.height !== h || img.width !== w || img.channels !== c) {
        throw new UserError(
          `view ${v} of the pipeline gives images of different sizes: ${w}x${h}x${c} for ${samples[0].item.where} but ${img.width}x${img.height}x${img.channels} for ${s.item.where}; ` +
            'end the pipeline with a fixed size (Resize with [height, width], CenterCrop or RandomResizedCrop) so that images can be batched',
        );
      }
      data.set(img.data, i * size);
    });
    return { data, shape: [n, h, w, c] as [number, number, number, number] };
  });
  const batch: Batch = { views, indices: Int32Array.from(samples.map((s) => s.item.index)) };
  if (init.withLabels) batch.labels = Int32Array.from(samples.map((s) => s.item.label ?? -1));
  if (init.withBoxes) {
    batch.boxes = samples.map((s) => s.boxes ?? []);
    batch.imageIds = Int32Array.from(samples.map((s) => s.item.imageId ?? -1));
    batch.frames = samples.map((s) => s.frame);
    if (samples.some((s) => s.item.crowd?.length)) batch.crowd = samples.map((s) => s.item.crowd ?? []);
  }
  if (init.withMasks) {
    const { height: h, width: w } = samples[0].views[0];
    const data = new Uint8Array(n * h * w);
    samples.forEach((s, i) => data.set(s.mask!.data, i * h * w));
    batch.masks = { data, shape: [n, h, w] };
    if (init.withSourceMasks) {
      batch.sourceMasks = samples.map((s) => s.sourceMask!);
      batch.frames = samples.map((s) => s.frame);
    }
  }
  return batch;
}
