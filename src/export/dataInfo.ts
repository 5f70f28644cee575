/**
 * What an exported model needs to know about its data: the evaluation pipeline (the predictors
 * run it before the network), the image size and channels the network saw, and the class names.
 * Read from the config's val (else test, else train) dataset; the size comes from running that
 * pipeline on the dataset's first image, so a pipeline without a Resize still gives the right size.
 */
import { build } from '../core/registry';
import { randomFor } from '../core/random';
import { isPlainObject, type ComponentConfig } from '../core/schema';
import type { DatasetPlan } from '../data/datasets';
import { decodeImage } from '../data/decode';
import { pathResolver } from '../data/loader';
import { runPipeline } from '../data/pipeline';

export interface DataInfo {
  /** The split the information comes from. */
  split?: string;
  /** Pipeline steps of that split (the evaluation pre-processing). */
  steps: ComponentConfig[];
  classes?: string[];
  channels?: number;
  /** `[height, width]` the network input had, when an image could be read. */
  imageSize?: [number, number];
  /** Why some of the above is unknown (data not found, ...). */
  problem?: string;
}

const SPLITS = ['val', 'test', 'train'] as const;

/** The dataset config the evaluation pre-processing comes from. */
export function evalDataset(config: Record<string, unknown>): { split: string; dataset: ComponentConfig } | undefined {
  const data = config.data as Record<string, unknown> | undefined;
  for (const split of SPLITS) {
    const d = data?.[split];
    if (isPlainObject(d) && typeof d.type === 'string') return { split, dataset: d as ComponentConfig };
  }
  return undefined;
}

/** Inspect the data of a config (opens the source and decodes one image; never throws). */
export async function probeData(config: Record<string, unknown>, configDir: string): Promise<DataInfo> {
  const found = evalDataset(config);
  if (!found) return { steps: [], problem: 'the config has no data.val, data.test or data.train' };
  const info: DataInfo = { split: found.split, steps: [] };
  let plan: DatasetPlan;
  try {
    plan = build<DatasetPlan>('dataset', found.dataset);
    info.steps = plan.views[0]?.steps ?? [];
  } catch (err) {
    return { ...info, problem: `data.${found.split}: ${(err as Error).message}` };
  }
  try {
    const source = await plan.source.open({ split: found.split, skipCorrupt: true, skip: () => undefined, resolvePath: pathResolver(configDir) });
    try {
      info.classes = source.classes;
      info.channels = source.channels;
      if (source.length > 0) {
        const item = await source.item(0);
        const img = await decodeImage(item.image, source.channels, item.where);
        const state = runPipeline(plan.views[0].pipeline, { img }, randomFor(0, 0));
        info.imageSize = [state.img.height, state.img.width];
        info.channels = state.img.channels;
      }
    } finally {
      source.close?.();
    }
  } catch (err) {
    info.problem = `data.${found.split} could not be read (${(err as Error).message})`;
  }
  return info;
}
