/**
 * Compare runs: a chart per metric with a line per run (legend = runs), a table of their final
 * metrics (best of each column marked, sortable), the config keys whose values differ, and their
 * evaluations class by class (compareClasses.ts).
 */
import {
  DEFAULT_CHART_SETTINGS,
  HostMessageType,
  PanelKind,
  RunAction,
  WebviewMessageType,
  type CompareRunsMessage,
  type CompareState,
  type HostMessage,
} from '../../src/extension/protocol';
import { diffConfigs } from '../../src/report/model/configDiff';
import { BOOKKEEPING_COLUMNS, lastFinite, leftOutNote, lowerIsBetter } from '../../src/report/model/metrics';
import { elapsedSeconds, formatDuration, itersPerEpoch, type RunSnapshot, type RunSummary } from '../../src/report/model/run';
import { ChartBoard, type BoardRun } from './charts/chartBoard';
import { MetricSplits } from '../../src/report/model/thinning';
import { ClassComparisonView } from './compareClasses';
import { chartToolbar } from './components/chartToolbar';
import { DataTable, type Cell, type Column } from './components/dataTable';
import { clear, h } from './lib/dom';
import './lib/elements';
import { initialState, installErrorReporting, onHostMessage, post, saveState } from './lib/host';
import { runLabels } from './lib/runLabels';
import { adoptStyles } from './lib/styles';
import { onThemeChange, readTheme } from './lib/theme';

installErrorReporting();
adoptStyles();

let state: CompareState = initialState<CompareState>(PanelKind.Compare) ?? { kind: PanelKind.Compare, dirs: [], chart: DEFAULT_CHART_SETTINGS };
saveState(state);

interface Run {
  snapshot: RunSnapshot;
  series: MetricSplits;
  /** Values of metrics.jsonl past the bounds (RunSnapshot.metricsLeftOut, then MetricsAppended.leftOut). */
  leftOut?: number;
}
let runs: Run[] = [];
let board: ChartBoard | undefined;

const runsEl = h('section', { id: 'runs' });
const leftOutEl = h('div', { class: 'muted', id: 'metrics-left-out' });
const chartsEl = h('section', { id: 'charts' });
const metricsEl = h('section', { id: 'final-metrics' });
const configEl = h('section', { id: 'config-diff' });
const perClass = new ClassComparisonView(h('section', { id: 'per-class' }), h('section', { id: 'prediction-diff' }));
let classes: CompareRunsMessage['classes'];
const toolbar = chartToolbar(state.chart, (chart) => {
  state = { ...state, chart };
  saveState(state);
  board?.setSettings(chart);
});
document.body.append(h('main', { id: 'compare' }, h('h1', null, 'Compare runs'), runsEl, toolbar, chartsEl, h('h2', null, 'Final metrics'), metricsEl, h('h2', null, 'Config differences'), configEl, h('h2', null, 'Per class'), perClass.perClassEl, h('h2', null, 'Predictions that differ'), perClass.predictionsEl));

function clockOf(s: RunSummary) {
  return { itersPerEpoch: itersPerEpoch(s), startSeconds: s.started ? Date.parse(s.started) / 1000 : undefined };
}

function boardRuns(): BoardRun[] {
  const labels = runLabels(runs.map((r) => r.snapshot.summary));
  return runs.map((r, i) => ({ label: labels[i], series: r.series, clock: clockOf(r.snapshot.summary) }));
}

function renderRuns(): void {
  clear(runsEl);
  const labels = runLabels(runs.map((r) => r.snapshot.summary));
  const palette = readTheme().palette;
  const list = h('div', { class: 'legend-swatches', id: 'run-list' });
  runs.forEach((r, i) => {
    const s = r.snapshot.summary;
    const sw = h('span', { class: 'sw' });
    sw.style.background = palette[i % palette.length];
    const link = h('a', { href: '#', title: s.dir }, labels[i]);
    link.addEventListener('click', (e) => {
      e.preventDefault();
      post({ type: WebviewMessageType.RunAction, action: RunAction.OpenDashboard, dir: s.dir });
    });
    list.append(h('span', { class: 'run-chip' }, sw, link, ' ', h('span', { class: `status ${s.status}` }, s.status)));
  });
  runsEl.append(list);
  renderLeftOut(labels);
}

/** Which runs' charts and final metrics miss some of their metrics, as the dashboard says it of one. */
function renderLeftOut(labels = runLabels(runs.map((r) => r.snapshot.summary))): void {
  clear(leftOutEl);
  runs.forEach((r, i) => {
    if (r.leftOut) leftOutEl.append(h('p', null, `${labels[i]}: ${leftOutNote(r.leftOut)}`));
  });
  if (!leftOutEl.isConnected) runsEl.append(leftOutEl);
}

/** Final value of every evaluation metric (`val/accuracy_top1`) and the last training loss, per run. */
function finalMetrics(): { keys: string[]; values: Map<string, number | undefined>[] } {
  const keys: string[] = [];
  const values = runs.map((r) => {
    const m = new Map<string, number | undefined>();
    for (const split of r.series.all()) {
      for (const k of split.keys()) {
        if (BOOKKEEPING_COLUMNS.has(k)) continue;
        if (split.split === 'train' && k !== 'loss') continue;
        const key = `${split.split}/${k}`;
        if (!keys.includes(key)) keys.push(key);
        m.set(key, lastFinite(split.column(k)?.values));
      }
    }
    return m;
  });
  // Evaluation metrics first, the training loss last.
  keys.sort((a, b) => (a.startsWith('train/') ? 1 : 0) - (b.startsWith('train/') ? 1 : 0));
  return { keys, values };
}

function renderTables(): void {
  const labels = runLabels(runs.map((r) => r.snapshot.summary));
  const { keys, values } = finalMetrics();
  const columns: Column[] = [
    { label: 'run' },
    { label: 'status' },
    { label: 'model' },
    { label: 'iterations', numeric: true },
    { label: 'time' },
    ...keys.map((k): Column => ({ label: k, numeric: true, best: lowerIsBetter(k) ? 'min' : 'max' })),
  ];
  const rows: Cell[][] = runs.map((r, i) => {
    const s = r.snapshot.summary;
    return [labels[i], s.status, s.model, s.iter, formatDuration(elapsedSeconds(s)), ...keys.map((k) => values[i].get(k))];
  });
  clear(metricsEl);
  metricsEl.append(new DataTable({ id: 'final-metrics-table', columns, rows }).element);

  clear(configEl);
  const diff = diffConfigs(runs.map((r) => r.snapshot.config));
  if (!diff.length) {
    configEl.append(h('div', { class: 'empty', id: 'no-config-diff' }, runs.length < 2 ? 'Select two or more runs.' : 'The runs have the same config.'));
    return;
  }
  configEl.append(
    new DataTable({
      id: 'config-diff-table',
      columns: [{ label: 'key' }, ...labels.map((l) => ({ label: l }))],
      rows: diff.map((d) => [d.key, ...d.values.map((v) => v ?? '(not set)')]),
    }).element,
  );
}

function render(): void {
  renderRuns();
  if (!board) {
    board = new ChartBoard(boardRuns(), state.chart, readTheme(), 'runs');
    chartsEl.append(board.element);
  }
  board.setRuns(boardRuns());
  renderTables();
  perClass.render(classes, runLabels(runs.map((r) => r.snapshot.summary)), readTheme());
}

onThemeChange((theme) => {
  board?.setTheme(theme);
  perClass.setTheme(theme);
  renderRuns();
});

let tablesTimer: ReturnType<typeof setTimeout> | undefined;
function tablesSoon(): void {
  // Final values change with every appended row; the tables need not follow at 20 Hz.
  if (tablesTimer) return;
  tablesTimer = setTimeout(() => {
    tablesTimer = undefined;
    renderTables();
  }, 500);
}

onHostMessage((msg: HostMessage) => {
  switch (msg.type) {
    case HostMessageType.CompareRuns:
      runs = msg.runs.map((snapshot) => {
        const series = new MetricSplits();
        series.append(snapshot.tables);
        return { snapshot, series, leftOut: snapshot.metricsLeftOut };
      });
      classes = msg.classes;
      state = { ...state, dirs: runs.map((r) => r.snapshot.summary.dir) };
      saveState(state);
      render();
      break;
    case HostMessageType.MetricsAppended: {
      const run = runs.find((r) => r.snapshot.summary.dir === msg.dir);
      if (!run) break;
      run.series.append(msg.tables);
      if (msg.leftOut && msg.leftOut !== run.leftOut) {
        run.leftOut = msg.leftOut;
        renderLeftOut();
      }
      board?.update();
      tablesSoon();
      break;
    }
    case HostMessageType.RunSummary: {
      const run = runs.find((r) => r.snapshot.summary.dir === msg.summary.dir);
      if (!run) break;
      run.snapshot = { ...run.snapshot, summary: msg.summary };
      renderRuns();
      tablesSoon();
      break;
    }
    case HostMessageType.RunSnapshot:
    case HostMessageType.Benchmarks:
    case HostMessageType.Report:
    case HostMessageType.ReportJob:
    case HostMessageType.TableRows:
      break;
    default: {
      const unhandled: never = msg;
      throw new Error(`compare: unknown message ${JSON.stringify(unhandled)}`);
    }
  }
});

post({ type: WebviewMessageType.Ready });

(window as unknown as { cvwCompare: unknown }).cvwCompare = { charts: () => board?.chartList() ?? [], perClass: () => perClass.charts() };
