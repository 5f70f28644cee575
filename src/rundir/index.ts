/**
 * The run directory: the one interface between the trainer and everything else. The trainer
 * writes a run only through `RunDir` (writer.ts); the CLI, the runs manager, the extension, the
 * reports and the benchmarks read it only through this module. ARCHITECTURE.md "The run directory".
 */
export { RUN_FILES, TENSORBOARD_EVENTS_PREFIX, runFile, rankLogFile, isRunDir, findRunDirs, CHECKPOINT_EXT, CHECKPOINTS, checkpointFile, checkpointName, bestOrLatestCheckpoint, runDirOfCheckpoint, resolveCheckpoint, EVAL_FILES, evalFileName, type RunFile, type EvalFile } from './files';
export { RUN_STATUSES, RUN_STATES, isActive, type RunStatus, type RunState } from './status';
export { runDurationMs } from './duration';
export { runInfoSchema, parseRunInfo, RUN_INFO_VERSION, type RunInfo } from './schema';
export { checkpointMetaSchema, parseCheckpointMeta, type CheckpointMeta } from './checkpointMeta';
export { writeAtomic, writeJsonAtomic, linkAtomic, openForAppend, appendToFile } from './atomic';
export { readRunInfo, tryReadRunInfo, readRunConfig, readMetrics } from './read';
export { readRunRecord, interpretRun, canStopRun, writerLiveness, type RunRecord } from './record';
export { RunDir, makeNewRunDir, writeRunInfo, appendMetrics, appendLog, recordDeath, recordOutOfMemory, type NewRunInfo } from './writer';
export { RunLock, RunLockedError, readRunLock, type LockHolder } from './lock';
export { processLiveness, procStat, type Liveness } from './liveness';
export { FileFollower, MetricsFollower, type FollowRead, type MetricRecord, type MetricsRead } from './follow';
export { readRunAnnotations, writeRunAnnotations, parseRunAnnotations, MAX_NOTE_CHARS, type RunAnnotations } from './annotations';
