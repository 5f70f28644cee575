/**
 * The one contract between the extension host and the panels' webviews (webview/src/*): the
 * message types of each direction as string enums, and tagged unions of the messages. Both sides
 * import this file; a handler `switch`es on `type` and ends in `const unhandled: never = msg`, so
 * that a new message does not compile until every side handles it.
 *
 * No `vscode` import here: the webview bundles include this module.
 */
import type { BenchmarkEntry } from '../report/model/benchmarks';
import type { ClassComparison } from '../report/model/classCompare';
import type { MarkdownTable } from '../report/model/markdownTables';
import type { MetricTable } from '../report/model/metrics';
import type { ReportData } from '../report/model/report';
import type { RunSnapshot, RunSummary } from '../report/model/run';
import type { TableRow, TableView } from './panels/runsTableModel';

/** The panels; each has a webview bundle `dist/webview/<kind>.js` and a view type. */
export enum PanelKind {
  Dashboard = 'dashboard',
  Compare = 'compare',
  Benchmarks = 'benchmarks',
  Report = 'report',
  RunsTable = 'runsTable',
}

/** The `viewType` of each panel (package.json `activationEvents` name them for the serializers). */
export const VIEW_TYPES: Record<PanelKind, string> = {
  [PanelKind.Dashboard]: 'cvWorkbench.dashboard',
  [PanelKind.Compare]: 'cvWorkbench.compare',
  [PanelKind.Benchmarks]: 'cvWorkbench.benchmarks',
  [PanelKind.Report]: 'cvWorkbench.report',
  [PanelKind.RunsTable]: 'cvWorkbench.runsTable',
};

// ---------------------------------------------------------------------------------------------
// host → webview

export enum HostMessageType {
  /** A run, whole: the dashboard's first message (and after the webview reloads). */
  RunSnapshot = 'runSnapshot',
  /** run.json changed: status, progress, best metric. */
  RunSummary = 'runSummary',
  /** Rows appended to metrics.jsonl since the last message. */
  MetricsAppended = 'metricsAppended',
  /** The runs of a comparison, whole. */
  CompareRuns = 'compareRuns',
  /** Benchmark results of every run plus the tables of BENCHMARKS.md. */
  Benchmarks = 'benchmarks',
  /** A run report, whole. */
  Report = 'report',
  /** Progress of `cvw report` started from the report panel. */
  ReportJob = 'reportJob',
  /** The runs table's rows: all of them (`reset`), or those added or changed and the directories removed. */
  TableRows = 'tableRows',
}

export interface RunSnapshotMessage {
  type: HostMessageType.RunSnapshot;
  run: RunSnapshot;
}

export interface RunSummaryMessage {
  type: HostMessageType.RunSummary;
  summary: RunSummary;
}

export interface MetricsAppendedMessage {
  type: HostMessageType.MetricsAppended;
  /** The run the rows belong to (the compare panel follows several). */
  dir: string;
  tables: MetricTable[];
  /** Numeric values left out so far (RunSnapshot.metricsLeftOut), when any. */
  leftOut?: number;
}

export interface CompareRunsMessage {
  type: HostMessageType.CompareRuns;
  runs: RunSnapshot[];
  /** What the runs evaluated, class by class (thumbnails as webview URIs); absent: not read. */
  classes?: ClassComparison;
}

export interface BenchmarksMessage {
  type: HostMessageType.Benchmarks;
  entries: BenchmarkEntry[];
  /** Tables of BENCHMARKS.md (engine, data, selfsup benchmarks), with the document's path. */
  documents: Array<{ file: string; tables: MarkdownTable[] }>;
}

export interface ReportMessage {
  type: HostMessageType.Report;
  report: ReportData;
}

export interface ReportJobMessage {
  type: HostMessageType.ReportJob;
  state: 'running' | 'finished' | 'failed';
  /** The last lines `cvw report` printed (progress, or the error). */
  text: string;
}

export interface TableRowsMessage {
  type: HostMessageType.TableRows;
  reset: boolean;
  rows: TableRow[];
  removed: string[];
}

export type HostMessage = TableRowsMessage | RunSnapshotMessage | RunSummaryMessage | MetricsAppendedMessage | CompareRunsMessage | BenchmarksMessage | ReportMessage | ReportJobMessage;

// ---------------------------------------------------------------------------------------------
// webview → host

export enum WebviewMessageType {
  /** The page is loaded and listening: the host sends nothing before this. */
  Ready = 'ready',
  /** A button of a run (Stop, Resume, Export, Open config, ...). */
  RunAction = 'runAction',
  /** Open a file of the workspace in an editor (a BENCHMARKS.md table, a config). */
  OpenFile = 'openFile',
  /** Compute the report's predictions (`cvw report`). */
  GenerateReport = 'generateReport',
  /** Save the report as one standalone HTML file. */
  ExportHtml = 'exportHtml',
  /** Read everything again (benchmarks panel). */
  Refresh = 'refresh',
  /** An error in the page, for the output channel. */
  Error = 'error',
  /** The runs table: something done to the selected runs (compare, report, export, delete, star, note). */
  TableAction = 'tableAction',
  /** The runs table's columns, sort, filter and grouping changed (remembered in the workspace). */
  TableSettings = 'tableSettings',
}

/** What the runs table does to its selected runs. */
export enum TableAction {
  Compare = 'compare',
  Report = 'report',
  Export = 'export',
  Delete = 'delete',
  Star = 'star',
  Note = 'note',
  OpenDashboard = 'openDashboard',
  /** Queued rows (their ids, `<queue file>#<id>`): the Runs view's queue commands. */
  QueueRemove = 'queueRemove',
  QueueUp = 'queueUp',
  QueueDown = 'queueDown',
}

/** What the buttons of a run do; the host runs the runs view's commands (issue 10) for them. */
export enum RunAction {
  Stop = 'stop',
  Resume = 'resume',
  Export = 'export',
  OpenConfig = 'openConfig',
  OpenLog = 'openLog',
  OpenFolder = 'openFolder',
  OpenDashboard = 'openDashboard',
  OpenReport = 'openReport',
}

export interface ReadyMessage {
  type: WebviewMessageType.Ready;
}

export interface RunActionMessage {
  type: WebviewMessageType.RunAction;
  action: RunAction;
  dir: string;
}

export interface OpenFileMessage {
  type: WebviewMessageType.OpenFile;
  file: string;
  /** 1-based line to reveal. */
  line?: number;
}

export interface GenerateReportMessage {
  type: WebviewMessageType.GenerateReport;
  dir: string;
}

export interface ExportHtmlMessage {
  type: WebviewMessageType.ExportHtml;
  dir: string;
}

export interface RefreshMessage {
  type: WebviewMessageType.Refresh;
}

export interface ErrorMessage {
  type: WebviewMessageType.Error;
  message: string;
}

export interface TableActionMessage {
  type: WebviewMessageType.TableAction;
  action: TableAction;
  dirs: string[];
  /** Star: the new value. */
  starred?: boolean;
  /** Note: the new text. */
  note?: string;
}

export interface TableSettingsMessage {
  type: WebviewMessageType.TableSettings;
  view: TableView;
}

export type WebviewMessage = TableActionMessage | TableSettingsMessage | ReadyMessage | RunActionMessage | OpenFileMessage | GenerateReportMessage | ExportHtmlMessage | RefreshMessage | ErrorMessage;

// ---------------------------------------------------------------------------------------------
// persisted webview state (vscode.getState/setState; the serializers revive panels from it)

export type XAxis = 'iter' | 'epoch' | 'wall' | 'relative';

/** Chart settings a person chose; kept across reloads. */
export interface ChartSettings {
  x: XAxis;
  /** EMA weight 0 (none) to 0.99. */
  smoothing: number;
  logScale: boolean;
}

export interface DashboardState {
  kind: PanelKind.Dashboard;
  dir: string;
  chart: ChartSettings;
}

export interface CompareState {
  kind: PanelKind.Compare;
  dirs: string[];
  chart: ChartSettings;
}

export interface BenchmarksState {
  kind: PanelKind.Benchmarks;
  /** Column the tables are sorted by, per table id. */
  sort: Record<string, { column: number; descending: boolean }>;
}

export interface ReportState {
  kind: PanelKind.Report;
  dir: string;
}

export interface RunsTableState {
  kind: PanelKind.RunsTable;
  view: TableView;
  /** Rows selected (run directories), kept across a reload of the page. */
  selected: string[];
}

export type PanelState = DashboardState | CompareState | BenchmarksState | ReportState | RunsTableState;

export const DEFAULT_CHART_SETTINGS: ChartSettings = { x: 'iter', smoothing: 0, logScale: false };

/** Guards for state restored from disk (it may come from an older version of the extension). */
export function isPanelState(v: unknown, kind: PanelKind): v is PanelState {
  return !!v && typeof v === 'object' && (v as { kind?: unknown }).kind === kind;
}
