/** Ids of the runs feature, as contributed in package.json. */
export const RUN_COMMANDS = {
  train: 'cvWorkbench.train',
  debugTraining: 'cvWorkbench.debugTraining',
  evaluate: 'cvWorkbench.evaluate',
  export: 'cvWorkbench.export',
  benchmark: 'cvWorkbench.benchmark',
  stopRun: 'cvWorkbench.stopRun',
  resumeRun: 'cvWorkbench.resumeRun',
  openRunLog: 'cvWorkbench.openRunLog',
  openRunOutput: 'cvWorkbench.openRunOutput',
  openRunFolder: 'cvWorkbench.openRunFolder',
  openRunConfig: 'cvWorkbench.openRunConfig',
  deleteRun: 'cvWorkbench.deleteRun',
  refreshRuns: 'cvWorkbench.refreshRuns',
  /** The status bar item's click: the active run's dashboard (or its output). */
  showActiveRun: 'cvWorkbench.showActiveRun',
} as const;

/** Commands of the panels (issue 11) that the runs view calls when they are registered. */
export const PANEL_COMMANDS = {
  openDashboard: 'cvWorkbench.openDashboard',
} as const;

export const RUNS_VIEW = 'cvWorkbench.runs';
export const TASK_TYPE = 'cvw';
export const DEBUG_TYPE = 'cvw';

/** Context keys for `when` clauses. */
export const CONTEXT = {
  /** The active editor holds a config (editor title buttons). */
  editorIsConfig: 'cvWorkbench.editorIsConfig',
  /** The panels' dashboard command exists (the view's "Open Dashboard"). */
  dashboardAvailable: 'cvWorkbench.dashboardAvailable',
} as const;

/** Settings of the runs feature (under `cvWorkbench.`). */
export const SETTINGS = {
  cvwPath: 'runs.cvwPath',
  nodePath: 'runs.nodePath',
  backend: 'runs.backend',
  detached: 'runs.detached',
  stopGraceSeconds: 'runs.stopGraceSeconds',
  askForArguments: 'runs.askForArguments',
} as const;
