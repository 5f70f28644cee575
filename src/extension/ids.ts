/**
 * Every id the extension shares with package.json: commands (`contributes.commands`), views,
 * settings, context keys, the task and debug types. One file, so that a command is named once and
 * test/extension/ids.test.ts can hold it against the manifest. No vscode import: unit tests load it.
 */

/** The config commands (validation, output). */
export const COMMANDS = {
  validateConfig: 'cvWorkbench.validateConfig',
  validateAllConfigs: 'cvWorkbench.validateAllConfigs',
  showOutput: 'cvWorkbench.showOutput',
  showResolvedConfig: 'cvWorkbench.showResolvedConfig',
} as const;

/** The runs feature (src/extension/runs): start, stop and look at runs. */
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
  // The run queue (queue.ts): Queue Training, and the Runs view's Queue group.
  queueTraining: 'cvWorkbench.queueTraining',
  queueMoveUp: 'cvWorkbench.queueMoveUp',
  queueMoveDown: 'cvWorkbench.queueMoveDown',
  queueRemove: 'cvWorkbench.queueRemove',
  queuePause: 'cvWorkbench.queuePause',
  queueResume: 'cvWorkbench.queueResume',
  // What a config's pipelines make of its images (cvw data browse).
  browseViews: 'cvWorkbench.browseViews',
  // Parameters, MACs and a step's memory (cvw summary).
  modelSummary: 'cvWorkbench.modelSummary',
} as const;

/** The panels (src/extension/panels): dashboard, comparison, benchmarks, report, runs table. */
export const PANEL_COMMANDS = {
  openDashboard: 'cvWorkbench.openDashboard',
  compareRuns: 'cvWorkbench.compareRuns',
  openBenchmarks: 'cvWorkbench.openBenchmarks',
  openReport: 'cvWorkbench.openReport',
  openRunsTable: 'cvWorkbench.openRunsTable',
} as const;

/** The component catalogue (src/extension/catalog). */
export const CATALOG_COMMANDS = {
  showComponentDoc: 'cvWorkbench.showComponentDoc',
  insertComponent: 'cvWorkbench.insertComponent',
  newExperiment: 'cvWorkbench.newExperiment',
  refreshComponents: 'cvWorkbench.refreshComponents',
  createSampleWorkspace: 'cvWorkbench.createSampleWorkspace',
} as const;

/** Slurm (src/extension/slurm): submit a config as a job. */
export const SLURM_COMMANDS = {
  submit: 'cvWorkbench.submitToSlurm',
} as const;

/**
 * Commands registered but deliberately not contributed: they take arguments only the extension
 * gives, so the command palette does not list them.
 */
export const INTERNAL_COMMANDS = {
  /** The status bar item's click: the active run's dashboard. */
  showActiveRun: 'cvWorkbench.showActiveRun',
} as const;

/** Every command package.json contributes. */
export const CONTRIBUTED_COMMANDS: readonly string[] = [COMMANDS, RUN_COMMANDS, PANEL_COMMANDS, CATALOG_COMMANDS, SLURM_COMMANDS].flatMap((group) => Object.values(group));

export const VIEWS = {
  runs: 'cvWorkbench.runs',
  components: 'cvWorkbench.components',
} as const;

export const TASK_TYPE = 'cvw';
/** Tasks of this type submit a config: { "type": "cvw-slurm", "config": "configs/x.yaml", "nodes": 2, "ntasksPerNode": 4 }. */
export const SLURM_TASK_TYPE = 'cvw-slurm';
export const DEBUG_TYPE = 'cvw';

export const OUTPUT_CHANNEL_NAME = 'CV Workbench';

/** The settings' section, and the keys under it (`cvWorkbench.<key>`). */
export const SETTINGS_SECTION = 'cvWorkbench';
export const SETTINGS = {
  configGlob: 'configGlob',
  cvwPath: 'runs.cvwPath',
  nodePath: 'runs.nodePath',
  backend: 'runs.backend',
  detached: 'runs.detached',
  stopGraceSeconds: 'runs.stopGraceSeconds',
  askForArguments: 'runs.askForArguments',
  queueParallel: 'runs.queueParallel',
} as const;

/** The Slurm feature's settings (under `cvWorkbench.`): the defaults of "Submit to Slurm…". */
export const SLURM_SETTINGS = {
  partition: 'slurm.partition',
  nodes: 'slurm.nodes',
  ntasksPerNode: 'slurm.ntasksPerNode',
  gpusPerTask: 'slurm.gpusPerTask',
  time: 'slurm.time',
  pollSeconds: 'slurm.pollSeconds',
} as const;

/** Context keys for `when` clauses. */
export const CONTEXT = {
  /** The active editor holds a config (editor title buttons). */
  editorIsConfig: 'cvWorkbench.editorIsConfig',
  /** The panels' dashboard is registered (the Runs view's "Open Dashboard" items). */
  dashboardAvailable: 'cvWorkbench.dashboardAvailable',
  /** The run queue is paused (the Queue group shows Resume instead of Pause). */
  queuePaused: 'cvWorkbench.queuePaused',
  /** sbatch was found on PATH at activation (the explorer's Submit to Slurm). */
  slurmAvailable: 'cvWorkbench.slurmAvailable',
  /** The fsPaths of the workspace's trainable configs (configIndex.ts: the explorer's Train, Debug, Submit). */
  trainableConfigs: 'cvWorkbench.trainableConfigs',
  /**
   * The config scan finished within its bound. Unset (before activation, before the first scan)
   * or false (the scan stopped at its bound), the explorer's entries show on every YAML/JSON file.
   */
  configIndexComplete: 'cvWorkbench.configIndexComplete',
} as const;
