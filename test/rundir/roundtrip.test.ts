/**
 * One run written by the real trainer, read back by every reader of run directories: src/rundir's
 * own, the runs manager's (records, watcher, metrics follower), the report's and the panels'
 * (summary, tables, confusion matrices, benchmark results, the dashboard's feed), the CLI's (`cvw
 * eval`, `cvw export`/`predict`'s model source) and the benchmarks'. They must all agree with what
 * the trainer wrote, field by field.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import '../../src/builtins';
import { train, type TrainResult } from '../../src/train/train';
import { readCheckpointMeta } from '../../src/train/checkpoint';
import {
  bestOrLatestCheckpoint,
  CHECKPOINTS,
  checkpointFile,
  findRunDirs,
  isRunDir,
  parseCheckpointMeta,
  readMetrics,
  readRunConfig,
  readRunInfo,
  readRunRecord,
  resolveCheckpoint,
  RUN_INFO_VERSION,
  runDirOfCheckpoint,
  type RunInfo,
} from '../../src/rundir';
import { RunWatcher } from '../../src/runs';
import { readConfusionMatrices, readReportData, readRunBenchmarks, readRunSnapshot } from '../../src/report/runFiles';
import { RunFeed } from '../../src/extension/panels/runFeed';
import { workspaceRunDir } from '../../src/extension/panels/messageGuard';
import { evaluate } from '../../src/eval/evaluate';
import { benchmarkKnn } from '../../src/eval/benchmark';
import { resolveModelSource } from '../../src/export/source';
import { tinyClassificationYaml } from '../helpers/tinyConfig';
import { tempFiles } from '../helpers/tmp';

const t = tempFiles({
  'tiny.yaml': tinyClassificationYaml({ seed: 5, runner: 'max_epochs: 2, log_interval: 1', val: true, extra: 'checkpoint: { save_best: val/accuracy_top1 }' }),
});
afterAll(() => t.cleanup());

const root = t.file('runs');
let result: TrainResult;
let run: string;
/** run.json as the trainer left it, parsed as plain JSON (no schema). */
let written: Record<string, unknown>;
let info: RunInfo;

beforeAll(async () => {
  result = await train(t.file('tiny.yaml'), { workDir: path.join(root, 'tiny', 'r1'), quiet: true });
  run = result.runDir;
  written = JSON.parse(fs.readFileSync(path.join(run, 'run.json'), 'utf8'));
  info = readRunInfo(run);
}, 120_000);

describe('a run written by the trainer', () => {
  it('src/rundir reads run.json, metrics, config and checkpoints as written', () => {
    expect(result).toMatchObject({ status: 'finished', iter: 6 });
    expect(written).toMatchObject({ version: RUN_INFO_VERSION, status: 'finished', iter: 6, epoch: 2, max_iters: 6, max_epochs: 2, config_stem: 'tiny', run_id: 'r1' });
    // The schema keeps every field the trainer writes (it drops none, changes none).
    expect(info).toEqual(written);
    expect(info.best?.metric).toBe('val/accuracy_top1');
    expect(info.metrics?.['val/accuracy_top1']).toBe(result.metrics['val/accuracy_top1']);

    const metrics = readMetrics(run);
    expect(metrics.filter((m) => m.split === 'train' && m.loss !== undefined).map((m) => m.iter)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(metrics.filter((m) => m.split === 'val').map((m) => m.iter)).toEqual([3, 6]);
    expect(metrics.find((m) => m.split === 'train' && m.iter === 6)?.loss).toBe(info.last_loss);
    expect(readRunConfig(run).config).toMatchObject({ seed: 5, model: { type: 'Classification' } });

    const best = checkpointFile(run, CHECKPOINTS.best);
    expect(bestOrLatestCheckpoint(run)).toBe(best);
    expect(resolveCheckpoint(run)).toBe(best);
    expect(runDirOfCheckpoint(best)).toBe(run);
    const meta = parseCheckpointMeta(checkpointFile(run, CHECKPOINTS.latest), readCheckpointMeta(checkpointFile(run, CHECKPOINTS.latest)));
    // Written after the last batch of the second epoch (epochs count from 0 in checkpoints).
    expect(meta).toMatchObject({ iter: 6, epoch: 1, batch_in_epoch: 3, seed: 5, config: { seed: 5 } });
    expect(parseCheckpointMeta(best, readCheckpointMeta(best)).iter).toBe(info.best!.iter);
  });

  it('the runs manager: its record and the watcher agree with run.json, the follower with metrics.jsonl', async () => {
    const record = readRunRecord(run);
    expect(record).toMatchObject({ dir: run, state: 'finished', resumable: false, group: 'tiny', startedMs: Date.parse(info.started), endedMs: Date.parse(info.ended!) });
    expect(record!.info).toEqual(info);
    const watcher = await RunWatcher.start([root], { livenessMs: 60_000 });
    try {
      expect(watcher.runs().map((r) => [r.dir, r.state])).toEqual([[run, 'finished']]);
      expect(watcher.get(run)!.info).toEqual(info);
      // The follower delivers every record the file holds at once.
      const followed: number[] = [];
      watcher.followMetrics(run, ({ records }) => followed.push(records.length)).dispose();
      expect(followed).toEqual([readMetrics(run).length]);
      // The dashboard's feed: the watcher's follower and state, the report's summary.
      const feed = new RunFeed(run, watcher);
      const snapshot = feed.snapshot();
      feed.dispose();
      expect(snapshot.summary).toMatchObject({ status: 'finished', iter: 6 });
      expect(snapshot.tables.find((tb) => tb.split === 'val')?.length).toBe(2);
    } finally {
      await watcher.close();
    }
  });

  it('the report and the panels: summary, tables, confusion matrices, and the run found in its workspace', () => {
    const snapshot = readRunSnapshot(run, { state: readRunRecord(run)!.state });
    expect(snapshot.summary).toMatchObject({
      dir: run,
      id: 'r1',
      configStem: 'tiny',
      configFile: t.file('tiny.yaml'),
      status: 'finished',
      iter: 6,
      epoch: 2,
      maxIters: 6,
      maxEpochs: 2,
      lastLoss: info.last_loss,
      best: info.best,
      metrics: info.metrics,
      model: 'Classification',
      started: info.started,
      ended: info.ended,
    });
    expect(snapshot.summary.engine).toContain(info.engine!.engine ?? info.engine!.backend);
    const rows = (split: string) => snapshot.tables.find((tb) => tb.split === split)?.length;
    expect(rows('train')).toBe(readMetrics(run).filter((m) => m.split === 'train').length);
    expect(rows('val')).toBe(2);
    expect(readConfusionMatrices(run).map((m) => [m.split, m.count])).toEqual([['val', 12]]);
    expect(readReportData(run, () => undefined).summary).toEqual(readRunSnapshot(run).summary);
    expect(findRunDirs([root])).toEqual([run]);
    expect(workspaceRunDir(run, [t.dir])).toBe(run);
  });

  it('the CLI: `cvw eval` on the run measures its best checkpoint as the trainer did; `cvw export` finds its model', async () => {
    expect(isRunDir(run)).toBe(true);
    const evaluated = await evaluate(run);
    expect(evaluated.checkpoint).toBe(checkpointFile(run, CHECKPOINTS.best));
    expect(evaluated.metrics['val/accuracy_top1']).toBeCloseTo(info.best!.value, 6);
    expect(resolveModelSource(run)).toMatchObject({ runDir: run, checkpoint: checkpointFile(run, CHECKPOINTS.best), iter: info.best!.iter, configDir: t.dir });
  }, 60_000);

  it('the benchmarks: a kNN result in the run, read back by the report and as a metrics line', async () => {
    const knn = await benchmarkKnn(run, { k: 5 });
    expect(path.dirname(knn.file)).toBe(path.join(run, 'benchmarks'));
    const entries = readRunBenchmarks(run);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ run, file: knn.file, runId: 'r1', configStem: 'tiny', algorithm: 'Classification', benchmark: 'knn', metrics: knn.metrics });
    const line = readMetrics(run).at(-1)!;
    expect(line).toMatchObject({ split: 'benchmark', benchmark: 'knn', iter: info.best!.iter, knn_top1: knn.metrics.knn_top1 });
    // What bench/ scripts read of a run.
    expect(readRunInfo(run).engine).toEqual(info.engine);
  }, 60_000);
});
