/**
 * The names of a run directory's files, and where its checkpoints are. Every writer and reader of
 * a run takes them from here.
 *
 *   work_dirs/<config-stem>/<run-id>/
 *     run.json        status, pid, config, engine, times, progress, best metric, error (schema.ts)
 *     config.yaml     the fully resolved config that ran
 *     metrics.jsonl   one JSON object per line
 *     log.txt         the human log (log.rank<N>.txt: the other ranks of a data-parallel run)
 *     checkpoints/    epoch_N, latest, best (.safetensors, written atomically)
 *     run.lock        while a process writes the run: who (lock.ts)
 *     events.out.tfevents.<time>.<host>   TensorBoard's scalars (train/tensorboard.ts)
 *     output.log      what a run started from the editor printed (the run manager writes it)
 *     eval/           `cvw eval`'s results (confusion matrices, COCO results, ...; EVAL_FILES)
 *     benchmarks/     `cvw benchmark`'s results, one JSON file each
 *     features/       `cvw extract`'s features (.npy)
 *     export/         `cvw export`'s models (model.onnx, tfjs/)
 *     report/         `cvw report`'s report.json and images (src/report/model/report.ts REPORT_DIR)
 *     annotations.json  what a person said about the run: starred, a note (annotations.ts)
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../core/problems';

export const RUN_FILES = {
  run: 'run.json',
  config: 'config.yaml',
  metrics: 'metrics.jsonl',
  log: 'log.txt',
  checkpoints: 'checkpoints',
  lock: 'run.lock',
  output: 'output.log',
  eval: 'eval',
  benchmarks: 'benchmarks',
  features: 'features',
  export: 'export',
  annotations: 'annotations.json',
} as const;

export type RunFile = keyof typeof RUN_FILES;

/**
 * What the evaluators write into `eval/`, per evaluated split: `<split><suffix>`. The comparison of
 * runs (src/report/evalFiles.ts) reads them back.
 */
export const EVAL_FILES = {
  /** ClsEvaluator: the confusion matrix and per-class accuracy. */
  confusion: '_confusion_matrix.json',
  /** ClsEvaluator: each image's predicted class and score (compact columns), for prediction diffs. */
  predictions: '_predictions.json',
  /** CocoEvaluator: mAP and per-class AP. */
  coco: '_coco_eval.json',
  /** SegEvaluator: mIoU and per-class IoU. */
  segmentation: '_seg_eval.json',
} as const;

export type EvalFile = keyof typeof EVAL_FILES;

/** The name of split `split`'s `kind` file in a run's eval folder. */
export function evalFileName(split: string, kind: EvalFile): string {
  return split + EVAL_FILES[kind];
}

/** How TensorBoard's event files are named (it finds them by this prefix): `<prefix><time>.<host>`. */
export const TENSORBOARD_EVENTS_PREFIX = 'events.out.tfevents.';

/** `dir`'s file `name` (run.json, config.yaml, ...). */
export function runFile(dir: string, name: RunFile): string {
  return path.join(dir, RUN_FILES[name]);
}

/** The log of rank `rank` > 0 of a data-parallel run (rank 0 writes log.txt). */
export function rankLogFile(dir: string, rank: number): string {
  return path.join(dir, `log.rank${rank}.txt`);
}

/** True when `dir` is a run directory (holds a run.json). */
export function isRunDir(dir: string): boolean {
  return fs.existsSync(runFile(dir, 'run'));
}

export const CHECKPOINT_EXT = '.safetensors';

/** The checkpoints the trainer writes: the last one, the best one (checkpoint.save_best), every N epochs. */
export const CHECKPOINTS = { latest: 'latest', best: 'best', epoch: (epoch: number) => `epoch_${epoch}` } as const;

/** `checkpoints/<name>.safetensors` of run `dir`. */
export function checkpointFile(dir: string, name: string): string {
  return path.join(dir, RUN_FILES.checkpoints, name + CHECKPOINT_EXT);
}

/** The same path relative to the run directory, for messages (`checkpoints/latest.safetensors`). */
export function checkpointName(name: string): string {
  return `${RUN_FILES.checkpoints}/${name}${CHECKPOINT_EXT}`;
}

/** The run's best checkpoint, else its latest; undefined when it has neither yet. */
export function bestOrLatestCheckpoint(dir: string): string | undefined {
  return [CHECKPOINTS.best, CHECKPOINTS.latest].map((n) => checkpointFile(dir, n)).find((f) => fs.existsSync(f));
}

/** The run directory a checkpoint file lies in (`<run>/checkpoints/<name>.safetensors`), if it is one. */
export function runDirOfCheckpoint(file: string): string | undefined {
  const dir = path.dirname(path.dirname(file));
  return path.basename(path.dirname(file)) === RUN_FILES.checkpoints && isRunDir(dir) ? dir : undefined;
}

/**
 * Run directories under `roots` (each a `work_dirs`): `<root>/<stem>/<id>/run.json`, or
 * `<root>/<name>/run.json` for a `--work-dir` placed there. Sorted, absolute.
 */
export function findRunDirs(roots: readonly string[]): string[] {
  const out: string[] = [];
  for (const root of roots) {
    const visit = (dir: string, depth: number) => {
      if (depth > 0 && isRunDir(dir)) {
        out.push(path.resolve(dir));
        return;
      }
      if (depth >= 2) return;
      let entries: fs.Dirent[];
      try {
        entries = fs.readdirSync(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) if (e.isDirectory()) visit(path.join(dir, e.name), depth + 1);
    };
    visit(root, 0);
  }
  return out.sort();
}

/**
 * A checkpoint file from a path that may be a run directory (its best, else latest checkpoint) or
 * a folder of checkpoints (its latest); any other path is returned as it is.
 */
export function resolveCheckpoint(source: string): string {
  if (!fs.existsSync(source) || !fs.statSync(source).isDirectory()) return source;
  const found = bestOrLatestCheckpoint(source) ?? [path.join(source, CHECKPOINTS.latest + CHECKPOINT_EXT)].find((f) => fs.existsSync(f));
  if (found) return found;
  throw new UserError(`${source}: no checkpoint found (looked for ${checkpointName(CHECKPOINTS.best)} and ${checkpointName(CHECKPOINTS.latest)})`);
}
