/**
 * Runs, as the editor and tools see them (pure Node, no vscode): discovery and live following of
 * run directories, the `cvw` to run, and a manager that starts, stops and resumes `cvw train`
 * child processes.
 */
// The run directory's readers, for the runs' users in one import (src/rundir owns them).
export { FileFollower, MetricsFollower, processLiveness, readRunRecord, interpretRun, isActive, type FollowRead, type MetricRecord, type MetricsRead, type Liveness, type RunInfo, type RunRecord, type RunState } from '../rundir';
export { RunWatcher, type RunChange, type RunWatcherOptions, type Disposable } from './watcher';
export { resolveCvw, findWorkspaceCvw, nodeRuntime, packageRootOf, CvwNotFoundError, type CvwLocation, type CvwSource, type NodeRuntime } from './cvw';
export { RunManager, ManagedProcess, ManagedRun, PipedProcess, newRunId, configStem, runCwd, type CvwInvocation, type ExitInfo, type TrainRequest, type ResumeRequest, type StopOutcome } from './manager';
export { crashPlaces, parseStack, isUserFrame, type CrashPlace, type StackFrame } from './crash';
export { splitArgs, parseRunArgs, joinArgs, ArgumentsError } from './args';
export { QUEUE_FILE, queueFile, readQueue, listQueueEntries, updateQueue, addToQueue, removeFromQueue, moveInQueue, holdInQueue, setQueuePaused, clearFinished, parseQueue, QueueFileError, QueueLockBusy, type QueueData, type QueueEntry, type QueueEntryState } from './queueFile';
export { QueueRunner, settleEntries, settledQueue, type QueueRunnerOptions } from './queueRunner';
