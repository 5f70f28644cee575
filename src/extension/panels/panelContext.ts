/**
 * What the panels need from the rest of the extension, as interfaces: the runs view's watcher
 * (src/runs RunWatcher: follows metrics.jsonl incrementally, reports run.json changes), a way to
 * run `cvw` (src/runs RunManager.exec), the output channel. Panels work without the first two
 * (they read the run once, and say that live updates and `cvw report` need the runs support).
 */
import type * as vscode from 'vscode';
import type { MetricRecord } from '../../report/model/metrics';
import type { RunAction } from '../protocol';
import type { QueuedItem } from './runsTableModel';

export interface Disposable {
  dispose(): void;
}

/** src/runs RunWatcher, as far as the panels use it. */
export interface RunsSource {
  /**
   * The records so far (a large backlog in batches of a few MiB, one per turn of the event loop,
   * each but the last `more`), then each appended batch; `reset` when the file was rewritten.
   */
  followMetrics(dir: string, listener: (read: { records: MetricRecord[]; reset: boolean; more?: boolean }) => void): Disposable;
  onChange(listener: (change: { kind: 'added' | 'changed' | 'removed'; run: RunRef }) => void): Disposable;
  runs(): RunRef[];
}

/** The run queue of the workspace folders (src/extension/runs QueueController), as far as the panels use it. */
export interface QueueSource {
  items(): QueuedItem[];
  /** The queue files changed (the controller's runner polls them). */
  onDidChange(listener: () => void): Disposable;
}

export interface RunRef {
  dir: string;
  /** running | finished | failed | stopped | interrupted | crashed */
  state: string;
}

/** src/runs ManagedProcess, as far as the panels use it. */
export interface CvwProcess {
  onOutput(listener: (text: string) => void): Disposable;
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  tail(lines?: number): string;
}

export interface PanelContext {
  extensionUri: vscode.Uri;
  output: vscode.OutputChannel;
  /** The runs view's watcher, once it is running. */
  runs?: () => RunsSource | undefined;
  /** The run queue (the runs table lists what is queued); absent without the runs support. */
  queue?: () => QueueSource | undefined;
  /** Run a `cvw` command (report) in a child process. */
  execCvw?: (args: string[], cwd: string) => CvwProcess;
  /** The workspace's memory (the runs table's columns); absent in tests that build panels alone. */
  workspaceState?: vscode.Memento;
  /** What a run's button does (src/extension/panels/runActions.ts). */
  runAction(action: RunAction, dir: string): Promise<void>;
}
