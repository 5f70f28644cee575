/** best.safetensors when a run is killed between writing latest and linking it as best. */
import { afterAll, describe, expect, it, vi } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CheckpointHook } from '../../src/train/hooks/checkpoint';
import { checkpointSchema } from '../../src/train/configSections';
import type { RunnerApi } from '../../src/train/hook';
import { tempFiles } from '../helpers/tmp';

const t = tempFiles({});
afterAll(() => t.cleanup());

/** A runner whose checkpoints are files holding the hook's state as it was when saved. */
function fakeRunner(dir: string, hook: () => CheckpointHook, resumedFrom?: string) {
  fs.mkdirSync(dir, { recursive: true });
  const update = vi.fn();
  const r = {
    epoch: 1,
    iter: 20,
    resumedFrom,
    runDir: { checkpointFile: (name: string) => path.join(dir, `${name}.safetensors`), update },
    saveCheckpoint: (name: string) => {
      // A new file renamed over the old, as the runner writes: best, linked to the old, keeps it.
      const file = path.join(dir, `${name}.safetensors`);
      fs.writeFileSync(`${file}.tmp`, JSON.stringify(hook().state()));
      fs.renameSync(`${file}.tmp`, file);
      return file;
    },
    log: () => {},
  };
  return { r: r as unknown as RunnerApi, update };
}

describe('the best checkpoint', () => {
  it('is linked from the checkpoint that holds it when a run resumes from it after a kill before the link', () => {
    const dir = path.join(t.dir, 'checkpoints');
    const cfg = checkpointSchema.parse({ save_best: 'val/accuracy_top1' });
    const killed = new CheckpointHook(cfg);
    const { r } = fakeRunner(dir, () => killed);
    killed.afterEval(r, { 'val/accuracy_top1': 0.5 });
    killed.saveNow(r, false); // best: this latest (0.5)
    killed.afterEval(r, { 'val/accuracy_top1': 0.7 });
    // The kill: latest written with the new best in its state, best still the 0.5 one.
    const latest = r.saveCheckpoint('latest');
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'best.safetensors'), 'utf8'))).toMatchObject({ best: { value: 0.5 } });
    const saved = JSON.parse(fs.readFileSync(latest, 'utf8')) as { best: { value: number } };
    expect(saved).toMatchObject({ best: { value: 0.7 }, best_pending: true });

    const resumed = new CheckpointHook(cfg);
    resumed.loadState(saved);
    const { r: r2, update } = fakeRunner(dir, () => resumed, latest);
    resumed.beforeRun(r2);
    expect(fs.statSync(path.join(dir, 'best.safetensors')).ino).toBe(fs.statSync(latest).ino);
    expect(update).toHaveBeenCalledWith({ best: expect.objectContaining({ value: 0.7 }) });
    // Settled: the next save links nothing more, its state no longer pending.
    resumed.saveNow(r2, false);
    expect(JSON.parse(fs.readFileSync(latest, 'utf8'))).not.toHaveProperty('best_pending');
    expect(update).toHaveBeenCalledTimes(1);
  });

  it('is left alone when the resumed checkpoint was linked before the stop', () => {
    const dir = path.join(t.dir, 'clean');
    const cfg = checkpointSchema.parse({ save_best: 'val/accuracy_top1' });
    const hook = new CheckpointHook(cfg);
    const { r } = fakeRunner(dir, () => hook);
    hook.afterEval(r, { 'val/accuracy_top1': 0.6 });
    hook.saveNow(r, false);
    hook.afterEval(r, { 'val/accuracy_top1': 0.4 }); // not better
    const latest = r.saveCheckpoint('latest'); // a later epoch's latest: best stays the earlier file
    const resumed = new CheckpointHook(cfg);
    resumed.loadState(JSON.parse(fs.readFileSync(latest, 'utf8')));
    const before = fs.statSync(path.join(dir, 'best.safetensors')).ino;
    const { r: r2, update } = fakeRunner(dir, () => resumed, latest);
    resumed.beforeRun(r2);
    expect(update).not.toHaveBeenCalled();
    expect(fs.statSync(path.join(dir, 'best.safetensors')).ino).toBe(before);
  });
});
