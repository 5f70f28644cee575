/**
 * The Runs view's Queue group without VS Code, from a real queue file: listed first while it has
 * entries not done, in the queue's order, with rows and context values the menus' `when` match.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { addToQueue, moveInQueue, readQueue, setQueuePaused, updateQueue } from '../../src/runs/queueFile';
import { queueEntryRow, queueGroupRow, type QueueList } from '../../src/extension/runs/queueTreeModel';
import { RunsTreeModel } from '../../src/extension/runs/runsTreeModel';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cvw-queue-tree-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const queue: QueueList = { items: () => readQueue(root).entries.map((entry) => ({ root, entry })), paused: () => readQueue(root).paused };
const noRuns = { runs: () => [], get: () => undefined };

describe('the Queue group of the Runs view', () => {
  it('is absent without entries, then first, in queue order, and follows reorders', () => {
    const model = new RunsTreeModel(noRuns, queue);
    expect(model.children()).toEqual([]);
    addToQueue(root, path.join(root, 'configs/a.yaml'), ['--optimizer.lr', '0.1']);
    addToQueue(root, 'configs/b.yaml');
    const [group] = model.children();
    expect(group).toEqual({ kind: 'queue' });
    const ids = () => model.children(group).map((n) => (n.kind === 'queued' ? n.id : '?'));
    expect(ids()).toEqual(['q1', 'q2']);
    moveInQueue(root, 'q2', -1);
    expect(ids()).toEqual(['q2', 'q1']);
    const node = model.children(group)[1];
    expect(model.children(group)[1]).toBe(node); // stable node objects
    expect(model.parent(node)).toBe(group);
  });

  it('describes entries (state, id, arguments, run) and hides those done', () => {
    updateQueue(root, (q) => {
      q.entries[1].state = 'running';
      q.entries[1].runDir = path.join(root, 'work_dirs/a/20260301-100000');
      q.entries[0].state = 'done';
    });
    setQueuePaused(root, true);
    const model = new RunsTreeModel(noRuns, queue);
    expect(model.children(model.children()[0]).map((n) => (n.kind === 'queued' ? n.id : '?'))).toEqual(['q1']);
    expect(queueGroupRow(queue)).toEqual({ label: 'Queue', description: '0 queued · 1 running · paused' });
    const row = queueEntryRow({ root, entry: readQueue(root).entries[1] });
    expect(row).toMatchObject({ label: 'a.yaml', description: 'running · q1 · --optimizer.lr 0.1 · 20260301-100000', contextValue: 'cvwQueue.entry.running' });
    expect(row.tooltip).toContain('configs/a.yaml (q1, running)');
  });
});
