/**
 * The header of a run: config and run id, status, engine, start, elapsed time and ETA (ticking
 * while the run is running), progress, best metric; and the run's buttons.
 */
import { RunAction } from '../../../src/extension/protocol';
import { elapsedSeconds, formatDuration, formatValue, type RunSummary } from '../../../src/report/model/run';
import { clear, h } from '../lib/dom';

export interface HeaderButtons {
  onAction(action: RunAction): void;
  /** Which buttons to show (default: all the dashboard has). */
  actions?: RunAction[];
}

const LABELS: Partial<Record<RunAction, string>> = {
  [RunAction.Stop]: 'Stop',
  [RunAction.Resume]: 'Resume',
  [RunAction.Export]: 'Export',
  [RunAction.OpenConfig]: 'Open config',
  [RunAction.OpenLog]: 'Open log',
  [RunAction.OpenReport]: 'Report',
  [RunAction.OpenDashboard]: 'Dashboard',
};

export const DASHBOARD_ACTIONS = [RunAction.Stop, RunAction.Resume, RunAction.Export, RunAction.OpenConfig, RunAction.OpenLog, RunAction.OpenReport];

export class RunHeader {
  readonly element = h('header', { class: 'run-header-block' });
  private summary?: RunSummary;
  /** Seconds left at `etaAt` (ms), from the last training row. */
  private eta?: { seconds: number; at: number };
  private timer?: ReturnType<typeof setInterval>;

  constructor(private readonly buttons?: HeaderButtons) {}

  update(summary: RunSummary): void {
    this.summary = summary;
    this.render();
    if (summary.status === 'running' && !this.timer) this.timer = setInterval(() => this.renderFacts(), 1000);
    if (summary.status !== 'running' && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  /** The ETA the trainer logged with its last training row. */
  setEta(seconds: number | undefined, atMs: number = Date.now()): void {
    this.eta = seconds === undefined ? undefined : { seconds, at: atMs };
    this.renderFacts();
  }

  dispose(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private factsEl = h('div', { class: 'facts' });
  private progressEl = h('div', { class: 'progress', role: 'progressbar' }, h('div'));

  private render(): void {
    const s = this.summary!;
    clear(this.element);
    const status = h('span', { class: `status ${s.status}`, id: 'run-status' }, s.status);
    const title = h('div', { class: 'title' }, h('h1', { id: 'run-title' }, `${s.configStem} `, h('span', { class: 'muted' }, s.id)), status);
    const row = h('div', { class: 'run-header' }, title);
    if (this.buttons) {
      const bar = h('div', { class: 'toolbar run-actions' });
      for (const a of this.buttons.actions ?? DASHBOARD_ACTIONS) {
        const disabled = (a === RunAction.Stop && s.status !== 'running') || (a === RunAction.Resume && (s.status === 'running' || s.status === 'finished'));
        const b = h('vscode-button', { 'data-action': a, secondary: a !== RunAction.Stop && a !== RunAction.Resume, disabled }, LABELS[a] ?? a);
        b.addEventListener('click', () => {
          if (!(b as unknown as { disabled: boolean }).disabled) this.buttons!.onAction(a);
        });
        bar.append(b);
      }
      row.append(bar);
    }
    this.element.append(row, this.factsEl, this.progressEl);
    if (s.error) this.element.append(h('div', { class: 'error-text', id: 'run-error' }, s.error));
    this.renderFacts();
  }

  private renderFacts(): void {
    const s = this.summary;
    if (!s) return;
    const elapsed = elapsedSeconds(s);
    let eta: number | undefined;
    if (s.status === 'running' && this.eta) eta = Math.max(0, this.eta.seconds - (Date.now() - this.eta.at) / 1000);
    else if (s.status === 'finished') eta = 0;
    const facts: Array<[string, string, string]> = [
      ['config', s.configFile ?? s.configStem, 'fact-config'],
      ['model', s.model ?? '—', 'fact-model'],
      ['engine', s.engine ?? '—', 'fact-engine'],
      ['started', s.started ? new Date(s.started).toLocaleString() : '—', 'fact-started'],
      ['elapsed', formatDuration(elapsed), 'fact-elapsed'],
      ['ETA', s.status === 'running' ? formatDuration(eta) : s.status === 'finished' ? 'done' : '—', 'fact-eta'],
      ['progress', s.maxIters ? `iter ${s.iter}/${s.maxIters} · epoch ${s.epoch}/${s.maxEpochs}` : `iter ${s.iter}`, 'fact-progress'],
    ];
    if (s.best) facts.push([`best ${s.best.metric}`, `${formatValue(s.best.value)} (iter ${s.best.iter})`, 'fact-best']);
    clear(this.factsEl);
    for (const [k, v, id] of facts) this.factsEl.append(h('span', { class: 'fact', id }, h('span', { class: 'k' }, k), h('span', { class: 'v' }, v)));
    const bar = this.progressEl.firstElementChild as HTMLElement;
    bar.style.width = `${s.maxIters ? Math.min(100, (100 * s.iter) / s.maxIters) : 0}%`;
  }
}
