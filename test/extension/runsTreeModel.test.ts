/**
 * The Runs view's rows without VS Code, from run directories on disk read by the runs' own reader
 * (readRunRecord): grouping, node identity, descriptions, context values for the menus' `when`.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runInfo } from '../helpers/runInfo';
import { readRunRecord, runFile, type RunInfo, type RunRecord } from '../../src/rundir';
import { describeRun, RUN_ICONS, runClickCommand, runContextValue, runDuration, RunsTreeModel, runTooltipRows } from '../../src/extension/runs/runsTreeModel';
import { PANEL_COMMANDS, RUN_COMMANDS } from '../../src/extension/ids';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cvw-runs-tree-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const STARTED = Date.parse('2026-03-01T10:00:00Z');

/** A run directory as the trainer leaves it: run.json, and a latest checkpoint when asked. */
function writeRun(stem: string, id: string, info: Partial<RunInfo>, options: { checkpoint?: boolean } = {}): string {
  const dir = path.join(root, 'work_dirs', stem, id);
  fs.mkdirSync(path.join(dir, 'checkpoints'), { recursive: true });
  const full = runInfo({ config: path.join(root, 'configs', `${stem}.yaml`), config_stem: stem, run_id: id, started: new Date(STARTED).toISOString(), epoch: 2, iter: 20, max_iters: 20, max_epochs: 2, ...info });
  fs.writeFileSync(runFile(dir, 'run'), JSON.stringify(full));
  if (options.checkpoint) fs.writeFileSync(path.join(dir, 'checkpoints', 'latest.safetensors'), '');
  return dir;
}

const finished = writeRun('resnet_cls', '20260301-100000', { ended: new Date(STARTED + 185_000).toISOString(), last_loss: 0.123456, metrics: { accuracy: 0.91234, top5: 0.99 } });
const running = writeRun('resnet_cls', '20260301-110000', { status: 'running', pid: process.pid, iter: 7, max_iters: 20, last_loss: 1.5, best: { metric: 'accuracy', value: 0.5, iter: 5, epoch: 1 } });
// Its process (a pid no system hands out) is gone, a checkpoint exists: Resume continues it.
const interrupted = writeRun('vit_simclr', '20260301-120000', { status: 'running', pid: 2 ** 30, iter: 12 }, { checkpoint: true });
const failed = writeRun('vit_simclr', '20260301-130000', { status: 'failed', ended: new Date(STARTED + 5_000).toISOString(), error: { message: 'loss is NaN', iter: 3 } });

// Written on another machine (a shared work_dirs, a copied folder): it cannot be checked or signalled from here.
const remote = writeRun('cluster', '20260301-140000', { status: 'running', pid: process.pid, hostname: 'gpu-node-7' });
// Submitted to Slurm, not started yet.
const pending = writeRun('cluster', '20260301-150000', { status: 'pending', slurm_job_id: '4242' });

const records = [finished, running, interrupted, failed].map((d) => readRunRecord(d)!);
const list = {
  runs: () => records,
  get: (dir: string) => records.find((r) => r.dir === dir),
};
const rec = (dir: string): RunRecord => list.get(dir) ?? readRunRecord(dir)!;

describe('RunsTreeModel', () => {
  const model = new RunsTreeModel(list);

  it('groups runs by config, in the order the runs come, and hands out the same node objects', () => {
    const groups = model.children();
    expect(groups).toEqual([
      { kind: 'group', group: 'resnet_cls' },
      { kind: 'group', group: 'vit_simclr' },
    ]);
    expect(model.children()[0]).toBe(groups[0]);
    const runs = model.children(groups[1]);
    expect(runs).toEqual([
      { kind: 'run', dir: interrupted },
      { kind: 'run', dir: failed },
    ]);
    expect(model.runNode(failed)).toBe(runs[1]);
    expect(model.parent(runs[1])).toBe(groups[1]);
    expect(model.parent(groups[1])).toBeUndefined();
    expect(model.children(runs[0])).toEqual([]);
  });

  it('counts the runs of a group and the running ones', () => {
    expect(model.groupRow('resnet_cls')).toEqual({ label: 'resnet_cls', description: '2 runs · 1 running', config: path.join(root, 'configs', 'resnet_cls.yaml') });
    expect(model.groupRow('vit_simclr').description).toBe('2 runs');
    expect(model.anyRunning()).toBe(true);
  });

  it('says "gone" for a run whose directory was deleted', () => {
    expect(model.runRow(path.join(root, 'work_dirs', 'resnet_cls', 'deleted'))).toEqual({ label: 'deleted', run: undefined, description: 'gone' });
    expect(model.parent({ kind: 'run', dir: path.join(root, 'nowhere') })).toBeUndefined();
  });
});

describe('a run row', () => {
  it('describes a finished run: state, start, duration, last loss, first final metric', () => {
    const parts = describeRun(rec(finished)).split(' · ');
    expect(parts[0]).toBe('finished');
    expect(parts.slice(2)).toEqual(['3m05s', 'loss 0.1235', 'accuracy 0.9123']);
  });

  it('describes a running run with its progress and best metric, its duration up to now', () => {
    const run = rec(running);
    expect(run.state).toBe('running');
    const parts = describeRun(run, STARTED + 42_000).split(' · ');
    expect(parts[0]).toBe('running');
    expect(parts.slice(2)).toEqual(['42s', '7/20', 'loss 1.5', 'accuracy 0.5']);
    expect(runDuration(run, STARTED + 3_700_000)).toBe('1h01m');
  });

  it('gives the menus the state and whether the run resumes', () => {
    expect(runContextValue(rec(finished))).toBe('cvwRun.finished');
    expect(runContextValue(rec(running))).toBe('cvwRun.running');
    expect(runContextValue(rec(interrupted))).toBe('cvwRun.interrupted.resumable');
    expect(runContextValue(rec(failed))).toBe('cvwRun.failed');
    expect(RUN_ICONS[rec(interrupted).state]).toEqual({ icon: 'warning', color: 'charts.yellow' });
    expect(runContextValue(rec(remote))).toBe('cvwRun.running.elsewhere');
    expect(runContextValue(rec(pending))).toBe('cvwRun.pending');
  });

  it("package.json's menus: Stop for runs this machine can stop (a pending Slurm job too), Delete for the others", () => {
    const manifest = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../package.json'), 'utf8'));
    const items: Array<{ command: string; when: string }> = manifest.contributes.menus['view/item/context'];
    const shows = (command: string, dir: string) => {
      const whens = items.filter((i) => i.command === command).map((i) => /viewItem =~ \/(.*?)\/(?: |$)/.exec(i.when)![1]);
      expect(whens.length, command).toBeGreaterThan(0);
      return whens.every((re) => new RegExp(re).test(runContextValue(rec(dir))));
    };
    const all = { finished, running, interrupted, failed, remote, pending };
    const withMenu = (command: string) => Object.entries(all).filter(([, dir]) => shows(command, dir)).map(([name]) => name);
    expect(withMenu(RUN_COMMANDS.stopRun)).toEqual(['running', 'pending']);
    expect(withMenu(RUN_COMMANDS.deleteRun)).toEqual(['finished', 'interrupted', 'failed', 'remote']);
    expect(rec(remote).elsewhere).toBe('gpu-node-7');
    expect(new Map(runTooltipRows(rec(remote))).get('note')).toMatch(/^written on gpu-node-7: whether it still runs there cannot be told/);
  });

  it('explains in the tooltip why an interrupted run can be resumed, and what a failed one said', () => {
    const rows = new Map(runTooltipRows(rec(interrupted)));
    expect(rows.get('note')).toBe('its process is gone; Resume continues from the last checkpoint');
    expect(rows.get('progress')).toBe('epoch 2/2, iteration 12/20');
    expect(rows.get('engine')).toBe('?');
    expect(new Map(runTooltipRows(rec(failed))).get('error')).toBe('loss is NaN');
    expect(runTooltipRows(rec(finished)).slice(-2)).toEqual([
      ['accuracy', '0.9123'],
      ['top5', '0.99'],
    ]);
  });

  it('opens the dashboard on a click when the panels provide it, else the output', () => {
    expect(runClickCommand(finished, true)).toEqual({ title: 'Open Dashboard', command: PANEL_COMMANDS.openDashboard, arguments: [finished] });
    expect(runClickCommand(finished, false)).toEqual({ title: 'Show Output', command: RUN_COMMANDS.openRunOutput, arguments: [finished] });
  });
});
