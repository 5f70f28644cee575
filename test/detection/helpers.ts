/** Shared by the detection tests: `cvw` in-process (re-exported), and a run of an untrained YOLOX-nano that finds boxes. */
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { disposeCheckpoint, loadCheckpoint, saveCheckpoint } from '../../src/train/checkpoint';
import { ROOT, makeRun } from '../export/helpers';

export const SHAPES = path.join(ROOT, 'data/shapes-sample');

export { cvw } from '../helpers/cvw';

/**
 * `<dir>/run`: an untrained YOLOX-nano (3 classes) evaluated on the committed shapes sample. A
 * prior of 0.6 and larger prediction weights give it scores spread around 0.3-0.4: plenty of boxes
 * to suppress, and no two detections tied, so suppression never hinges on rounding between engines.
 */
export function detectorRun(dir: string): string {
  makeRun(
    dir,
    `model: { type: YOLOX, size: nano, head: { type: YOLOXHead, num_classes: 3, prior_prob: 0.6 } }
data:
  workers: 0
  val:
    type: DetDataset
    source: { type: COCO, ann_file: ${SHAPES}/annotations/instances_val.json, img_dir: ${SHAPES}/val }
    pipeline: [{ type: LetterboxResize, size: 96 }, { type: ToTensor }, { type: Normalize }]
`,
  ).dispose();
  const run = path.join(dir, 'run');
  const file = path.join(run, 'checkpoints', 'best.safetensors');
  const ck = loadCheckpoint(file);
  const scaled = (k: string, v: tf.Tensor) => (/head\.(cls|obj)_preds\.\d+\.weight$/.test(k) ? tf.mul(v, 40) : /head\.reg_preds\.\d+\.weight$/.test(k) ? tf.mul(v, 4) : v);
  saveCheckpoint(file, new Map([...ck.tensors].map(([k, v]) => [k, scaled(k, v)])), ck.meta);
  disposeCheckpoint(ck);
  return run;
}
