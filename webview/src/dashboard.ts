/**
 * The run dashboard (one panel per run): header with status, config, engine, elapsed time and
 * ETA, the run's buttons, and live charts of every metric, appended to as metrics.jsonl grows.
 */
import {
  DEFAULT_CHART_SETTINGS,
  HostMessageType,
  PanelKind,
  WebviewMessageType,
  type DashboardState,
  type HostMessage,
} from '../../src/extension/protocol';
import { lastFinite, leftOutNote } from '../../src/report/model/metrics';
import { itersPerEpoch, type RunSummary } from '../../src/report/model/run';
import { ChartBoard } from './charts/chartBoard';
import { MetricSplits } from '../../src/report/model/thinning';
import { chartToolbar } from './components/chartToolbar';
import { RunHeader } from './components/runHeader';
import { h } from './lib/dom';
import './lib/elements';
import { initialState, installErrorReporting, onHostMessage, post, saveState } from './lib/host';
import { adoptStyles } from './lib/styles';
import { onThemeChange, readTheme } from './lib/theme';

installErrorReporting();
adoptStyles();

let state: DashboardState = initialState<DashboardState>(PanelKind.Dashboard) ?? { kind: PanelKind.Dashboard, dir: '', chart: DEFAULT_CHART_SETTINGS };
saveState(state);

const header = new RunHeader({ onAction: (action) => post({ type: WebviewMessageType.RunAction, action, dir: state.dir }) });
const root = h('main', { id: 'dashboard' }, header.element);
document.body.append(root);

let series = new MetricSplits();
/** Said when metrics.jsonl had more splits or columns than are kept (metrics.ts MetricKeys). */
const leftOut = h('p', { class: 'muted', id: 'metrics-left-out' });
let board: ChartBoard | undefined;
let summary: RunSummary | undefined;

function clockOf(s: RunSummary) {
  return { itersPerEpoch: itersPerEpoch(s), startSeconds: s.started ? Date.parse(s.started) / 1000 : undefined };
}

function updateEta(): void {
  const train = series.split('train');
  if (!train) return;
  const eta = lastFinite(train.column('eta_s')?.values);
  const at = lastFinite(train.column('time')?.values);
  // The ETA was true when its row was written; count down from then.
  header.setEta(eta, at !== undefined ? Math.min(Date.now(), at * 1000) : Date.now());
}

const toolbar = chartToolbar(state.chart, (chart) => {
  state = { ...state, chart };
  saveState(state);
  board?.setSettings(chart);
});

onThemeChange((theme) => board?.setTheme(theme));

onHostMessage((msg: HostMessage) => {
  switch (msg.type) {
    case HostMessageType.RunSnapshot: {
      summary = msg.run.summary;
      if (state.dir !== summary.dir) {
        state = { ...state, dir: summary.dir };
        saveState(state);
      }
      header.update(summary);
      series = new MetricSplits();
      series.append(msg.run.tables);
      board?.dispose();
      board?.element.remove();
      board = new ChartBoard([{ label: summary.id, series, clock: clockOf(summary) }], state.chart, readTheme(), 'metrics');
      if (!toolbar.isConnected) root.append(toolbar, leftOut);
      leftOut.textContent = leftOutNote(msg.run.metricsLeftOut);
      root.append(board.element);
      board.update();
      updateEta();
      document.title = `${summary.configStem} ${summary.id}`;
      break;
    }
    case HostMessageType.RunSummary: {
      if (msg.summary.dir !== state.dir) break;
      const clockChanged = !summary || JSON.stringify(clockOf(summary)) !== JSON.stringify(clockOf(msg.summary));
      summary = msg.summary;
      header.update(summary);
      updateEta();
      // The epoch axis and the relative-time axis depend on run.json; redraw only if they moved.
      if (clockChanged) board?.setRuns([{ label: summary.id, series, clock: clockOf(summary) }]);
      break;
    }
    case HostMessageType.MetricsAppended:
      if (msg.dir !== state.dir) break;
      series.append(msg.tables);
      if (msg.leftOut) leftOut.textContent = leftOutNote(msg.leftOut);
      board?.update();
      updateEta();
      break;
    case HostMessageType.CompareRuns:
    case HostMessageType.Benchmarks:
    case HostMessageType.Report:
    case HostMessageType.ReportJob:
    case HostMessageType.TableRows:
      break; // other panels' messages
    default: {
      const unhandled: never = msg;
      throw new Error(`dashboard: unknown message ${JSON.stringify(unhandled)}`);
    }
  }
});

post({ type: WebviewMessageType.Ready });

/** For the browser tests and the benchmark: the live charts. */
(window as unknown as { cvwDashboard: unknown }).cvwDashboard = {
  charts: () => board?.chartList() ?? [],
  series: () => series,
};
