/**
 * The status bar item of the active run: epoch and iteration, ETA, samples/s and memory (from the last
 * line of its metrics.jsonl, followed incrementally). The active run is the newest running run the
 * editor started, else the newest running run found. Click: its dashboard.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { MetricRecord, RunRecord } from '../../rundir';
import { formatDuration, formatNumber } from '../../train/progress';
import { INTERNAL_COMMANDS } from '../ids';
import type { RunsService } from './service';

export class ActiveRunStatus implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('cvWorkbench.activeRun', vscode.StatusBarAlignment.Left, 10);
  private activeDir: string | undefined;
  private follow: vscode.Disposable | undefined;
  private lastTrain: MetricRecord | undefined;
  private readonly subscription: vscode.Disposable;
  /** Runs started by this editor, newest last. */
  private readonly started: string[] = [];

  constructor(private readonly service: RunsService) {
    this.item.name = 'CV Workbench: active run';
    this.subscription = service.onDidChangeRuns(() => this.update());
    void service.ready.then(() => this.update());
  }

  /** A run the editor just started becomes the active one. */
  noteStarted(dir: string): void {
    this.started.push(dir);
    this.update();
  }

  /** The run the item shows, if any. */
  get active(): string | undefined {
    return this.activeDir;
  }

  private choose(): RunRecord | undefined {
    const running = this.service.runs().filter((r) => r.state === 'running');
    for (let i = this.started.length - 1; i >= 0; i--) {
      const own = running.find((r) => r.dir === this.started[i]);
      if (own) return own;
    }
    return running[0];
  }

  private update(): void {
    const run = this.choose();
    if (run?.dir !== this.activeDir) {
      this.follow?.dispose();
      this.follow = undefined;
      this.lastTrain = undefined;
      this.activeDir = run?.dir;
      if (run) {
        this.follow = this.service.followMetrics(run.dir, ({ records, reset }) => {
          if (reset) this.lastTrain = undefined;
          for (let i = records.length - 1; i >= 0; i--) {
            if (records[i].split === 'train') {
              this.lastTrain = records[i];
              break;
            }
          }
          this.render();
        });
      }
    }
    this.render();
  }

  private render(): void {
    const run = this.activeDir ? this.service.get(this.activeDir) : undefined;
    if (!run || run.state !== 'running') {
      this.item.hide();
      return;
    }
    const { info } = run;
    const m = this.lastTrain;
    const iter = Math.max(info.iter, m?.iter ?? 0);
    const epoch = Math.max(info.epoch, m?.epoch ?? 0);
    const parts = [`$(sync~spin) ${run.group}`, `epoch ${epoch}/${info.max_epochs || '?'}`, `iter ${iter}/${info.max_iters || '?'}`];
    if (typeof m?.eta_s === 'number') parts.push(`ETA ${formatDuration(m.eta_s)}`);
    if (typeof m?.samples_per_s === 'number') parts.push(`${formatNumber(m.samples_per_s)} samples/s`);
    if (typeof m?.memory_gb === 'number') parts.push(`mem ${formatNumber(m.memory_gb)} GB`);
    this.item.text = parts.join(' · ');
    this.item.tooltip = `${run.group}/${path.basename(run.dir)} — ${run.dir}\nClick to open its dashboard`;
    this.item.command = { title: 'Show run', command: INTERNAL_COMMANDS.showActiveRun, arguments: [run.dir] };
    this.item.show();
  }

  dispose(): void {
    this.follow?.dispose();
    this.subscription.dispose();
    this.item.dispose();
  }
}
