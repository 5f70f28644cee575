/**
 * The Runs view's "Queue" group, decided without VS Code: which queue entries it lists (those not
 * done: a finished run shows under its config like any other), and what each row says.
 * runsView.ts turns these into vscode.TreeItems; queue.ts serves the queue.
 */
import * as path from 'node:path';
import { joinArgs } from '../../runs/args';
import type { QueueEntry } from '../../runs/queueFile';

/** A queue entry of one workspace folder (the queue is per folder: its work_dirs/.queue.json). */
export interface QueueItem {
  root: string;
  entry: QueueEntry;
}

/** The queues as the view reads them (QueueController). */
export interface QueueList {
  items(): QueueItem[];
  paused(): boolean;
}

export const QUEUE_ICONS: Record<QueueEntry['state'], { icon: string; color?: string }> = {
  queued: { icon: 'clock' },
  paused: { icon: 'debug-pause', color: 'charts.yellow' },
  running: { icon: 'sync~spin', color: 'charts.blue' },
  done: { icon: 'pass', color: 'testing.iconPassed' },
  failed: { icon: 'error', color: 'testing.iconFailed' },
};

/** The entries the Queue group lists: every one not done. */
export function shownEntries(list: QueueList): QueueItem[] {
  return list.items().filter((i) => i.entry.state !== 'done');
}

/** The Queue group's row: `3 queued · 1 running`, `paused`. */
export function queueGroupRow(list: QueueList): { label: string; description: string } {
  const items = shownEntries(list);
  const count = (s: QueueEntry['state']) => items.filter((i) => i.entry.state === s).length;
  const parts = [`${count('queued')} queued`];
  if (count('running')) parts.push(`${count('running')} running`);
  if (count('failed')) parts.push(`${count('failed')} failed`);
  if (list.paused()) parts.push('paused');
  return { label: 'Queue', description: parts.join(' · ') };
}

/** An entry's row: the config, then state, id, overrides and where it runs (or why it failed). */
export function queueEntryRow(item: QueueItem): { label: string; description: string; tooltip: string; contextValue: string } {
  const e = item.entry;
  const parts: string[] = [e.state, e.id];
  if (e.overrides.length) parts.push(joinArgs(e.overrides));
  if (e.runDir) parts.push(path.basename(e.runDir));
  const tooltip = [
    `${e.config} (${e.id}, ${e.state})`,
    e.overrides.length ? `arguments: ${joinArgs(e.overrides)}` : 'the config as it is',
    `added ${e.added}`,
    ...(e.runDir ? [`run: ${e.runDir}`] : []),
    ...(e.reason ? [`reason: ${e.reason}`] : []),
  ].join('\n');
  return { label: path.basename(e.config), description: parts.join(' · '), tooltip, contextValue: `cvwQueue.entry.${e.state}` };
}
