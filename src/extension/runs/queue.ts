/**
 * The run queue in the editor: a QueueRunner (src/runs/queueRunner.ts) per workspace folder,
 * started on activation, serving `<folder>/work_dirs/.queue.json` — the file `cvw queue` edits too.
 * Its runs are started detached: a window reload ends this extension host, not them, and the next
 * activation's runner adopts them by pid and run directory. The runner only starts entries while
 * the queue is not paused; it polls the file, so entries added from a terminal start as well.
 *
 * A repository can commit its queue file, and the folder's opening activates this: trust alone
 * would start a clone's trainings (its configs' custom_imports) before anyone asked. So a folder's
 * queue starts only once the person has started it there — Start Queue in the notification that
 * names what it holds, Queue Training, Resume Queue — remembered in the workspace's state (the
 * user's storage, which no file of the repository can set), as VS Code asks before its own
 * automatic tasks.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { addToQueue, moveInQueue, queueFile, readQueue, removeFromQueue, setQueuePaused, type QueueData } from '../../runs/queueFile';
import { QueueRunner } from '../../runs/queueRunner';
import { quoted } from '../../core/format';
import { CONTEXT, RUN_COMMANDS, SETTINGS, SETTINGS_SECTION } from '../ids';
import { workspaceTrusted, ensureTrusted } from '../trust';
import { askArgs, saveIfDirty, targetConfig, type RunCommandContext } from './commands';
import type { QueueItem, QueueList } from './queueTreeModel';
import { runSettings, type RunsService } from './service';
import { numberSetting } from '../numberSettings';

/** The workspace state's list of the folders whose queue the person has started in this workspace. */
const STARTED_QUEUES_KEY = 'cvWorkbench.queue.startedFolders';

export class QueueController implements QueueList, vscode.Disposable {
  private readonly runners = new Map<string, QueueRunner>();
  private readonly queues = new Map<string, QueueData>();
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [this.changed];
  /** Folders whose held queue was shown to the person in this session (asked once each). */
  private readonly asked = new Set<string>();

  constructor(
    private readonly service: RunsService,
    private readonly state: vscode.Memento,
  ) {
    this.disposables.push(
      vscode.workspace.onDidChangeWorkspaceFolders(() => this.startRunners()),
      // Queued in Restricted Mode, then trusted: start serving without a reload.
      vscode.workspace.onDidGrantWorkspaceTrust(() => this.startRunners()),
    );
    this.startRunners();
  }

  private roots(): string[] {
    return (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath);
  }

  /**
   * One runner per folder; none in an untrusted workspace (it would run the workspace's cvw). A
   * folder removed from the workspace is no longer served (its running entries go on, detached).
   */
  private startRunners(): void {
    const roots = this.roots();
    for (const [root, runner] of this.runners) {
      if (roots.includes(root)) continue;
      runner.dispose();
      this.runners.delete(root);
      this.queues.delete(root);
      this.changed.fire();
    }
    if (!workspaceTrusted()) return;
    for (const root of roots) {
      if (this.runners.has(root)) continue;
      const scope = vscode.Uri.file(root);
      const runner = new QueueRunner(this.service.manager, {
        root,
        parallel: () => numberSetting(SETTINGS.queueParallel, vscode.workspace.getConfiguration(SETTINGS_SECTION, scope).get(SETTINGS.queueParallel)),
        detached: true,
        mayStart: () => this.started(root),
      });
      runner.onChange((q) => this.update(root, q));
      runner.onError((e) => {
        this.service.output.appendLine(`queue: ${e.message}`);
        void vscode.window.showWarningMessage(`Run queue: ${e.message}`);
      });
      // In the map before its first tick, which may ask to start a queue found here.
      this.runners.set(root, runner);
      runner.start();
    }
  }

  private update(root: string, q: QueueData): void {
    this.queues.set(root, q);
    void vscode.commands.executeCommand('setContext', CONTEXT.queuePaused, this.paused());
    this.changed.fire();
    // Asked where the queue is served (a trusted folder), once a session: a refusal is not nagged.
    if (this.runners.has(root) && !this.asked.has(root) && this.held(root, q).length) void this.askToStart(root);
  }

  /** The person has started the queue of `root` in this workspace: its entries start by themselves. */
  started(root: string): boolean {
    return this.state.get<string[]>(STARTED_QUEUES_KEY, []).includes(root);
  }

  /** Serve the queue of `root` from now on (the person started it), and start what may start. */
  async start(root: string): Promise<void> {
    if (!this.started(root)) await this.state.update(STARTED_QUEUES_KEY, [...this.state.get<string[]>(STARTED_QUEUES_KEY, []), root]);
    this.refresh(root);
  }

  /** The entries of `q` that wait only for the person to start the queue of `root`. */
  private held(root: string, q: QueueData): QueueData['entries'] {
    return q.paused || this.started(root) ? [] : q.entries.filter((e) => e.state === 'queued');
  }

  /** Say what the queue of `root` would start, and start it if the person says so. */
  async askToStart(root: string): Promise<void> {
    this.asked.add(root);
    const q = this.queues.get(root);
    const held = q && this.runners.has(root) ? this.held(root, q) : [];
    if (!held.length) return;
    // Names from the file, as written there (quoted, clipped): a notification is one line of text.
    const configs = [...new Set(held.map((e) => quoted(e.config)))];
    const named = configs.slice(0, 3).join(', ') + (configs.length > 3 ? `, and ${configs.length - 3} more` : '');
    const choice = await vscode.window.showWarningMessage(
      `The run queue of ${path.basename(root)} (work_dirs/.queue.json) holds ${held.length} training${held.length === 1 ? '' : 's'} not started from this editor: ${named}. Start the queue? Training runs the configs and their custom_imports.`,
      START_QUEUE,
      OPEN_QUEUE_FILE,
    );
    if (choice === START_QUEUE) await this.start(root);
    else if (choice === OPEN_QUEUE_FILE) await vscode.window.showTextDocument(vscode.Uri.file(queueFile(root)));
  }

  /** Re-read the queue of `root` now (after a change made here), starting what may start. */
  refresh(root: string): void {
    const runner = this.runners.get(root);
    try {
      this.update(root, runner ? runner.tick() : readQueue(root));
    } catch (e) {
      void vscode.window.showErrorMessage(`Queue: ${(e as Error).message}`);
    }
  }

  /** The workspace folders served. */
  folders(): string[] {
    return [...this.runners.keys()];
  }

  items(): QueueItem[] {
    return [...this.queues].flatMap(([root, q]) => q.entries.map((entry) => ({ root, entry })));
  }

  paused(): boolean {
    return [...this.queues.values()].some((q) => q.paused);
  }

  dispose(): void {
    // The runs go on (detached); the next activation's runners adopt them.
    for (const r of this.runners.values()) r.dispose();
    for (const d of this.disposables) d.dispose();
  }
}

/** The buttons of the question about a queue that came with the folder. */
const START_QUEUE = 'Start Queue';
const OPEN_QUEUE_FILE = 'Open Queue File';

/** The queue entry a command was given: a Queue node of the Runs view (`{ kind: 'queued', root, id }`). */
function entryOf(arg: unknown): { root: string; id: string } | undefined {
  const x = arg as { kind?: unknown; root?: unknown; id?: unknown } | undefined;
  return x && typeof x.root === 'string' && typeof x.id === 'string' ? { root: x.root, id: x.id } : undefined;
}

/** Queue Training: the config (CodeLens, editor title, or asked), its arguments, to the end of its folder's queue. */
export async function queueTraining(ctx: RunCommandContext, queue: QueueController, arg?: unknown, options: { args?: string | string[] } = {}): Promise<string | undefined> {
  if (!ensureTrusted('Queue Training')) return undefined;
  const uri = await targetConfig(arg, 'Queue Training');
  if (!uri) return undefined;
  const config = uri.fsPath;
  const args = await askArgs(ctx, config, `Queue ${path.basename(config)}`, options.args);
  if (!args) return undefined;
  await saveIfDirty(config);
  const root = ctx.service.folderOf(config);
  const backend = runSettings(uri).backend;
  const entry = addToQueue(root, config, [...args, ...(backend && !args.includes('--backend') ? ['--backend', backend] : [])]);
  // Queueing is starting the queue, unless entries the person has not seen wait in it (a queue
  // that came with the folder): those are named first, and start only with the person's word.
  const others = readQueue(root).entries.filter((e) => e.state === 'queued' && e.id !== entry.id);
  if (queue.started(root) || !others.length) await queue.start(root);
  else {
    queue.refresh(root);
    void queue.askToStart(root);
  }
  return entry.id;
}

export function registerQueueCommands(ctx: RunCommandContext, queue: QueueController): vscode.Disposable[] {
  const onEntry = (fn: (root: string, id: string) => void) => (arg?: unknown) => {
    const e = entryOf(arg);
    if (!e) return;
    try {
      fn(e.root, e.id);
    } catch (err) {
      void vscode.window.showErrorMessage(`Queue: ${(err as Error).message}`);
    }
    queue.refresh(e.root);
  };
  const setPaused = (paused: boolean) => async () => {
    for (const root of queue.folders()) {
      setQueuePaused(root, paused);
      // Resume Queue, pressed on the Queue group that lists the entries, starts them.
      if (paused) queue.refresh(root);
      else await queue.start(root);
    }
  };
  const table: Record<string, (...args: any[]) => unknown> = {
    [RUN_COMMANDS.queueTraining]: (arg?: unknown, options?: unknown) => queueTraining(ctx, queue, arg, options && typeof options === 'object' ? (options as { args?: string }) : {}),
    [RUN_COMMANDS.queueMoveUp]: onEntry((root, id) => moveInQueue(root, id, -1)),
    [RUN_COMMANDS.queueMoveDown]: onEntry((root, id) => moveInQueue(root, id, 1)),
    [RUN_COMMANDS.queueRemove]: onEntry((root, id) => removeFromQueue(root, id)),
    [RUN_COMMANDS.queuePause]: setPaused(true),
    [RUN_COMMANDS.queueResume]: setPaused(false),
  };
  return Object.entries(table).map(([id, fn]) => vscode.commands.registerCommand(id, fn));
}
