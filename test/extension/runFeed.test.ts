/**
 * The dashboard's feed of a run (src/extension/panels/runFeed.ts) keeps a bounded sample of the
 * rows, however many the follower delivers; the page, given the feed's snapshot and then every
 * appended batch, holds the rows the feed holds, and a fresh read of the file (no watcher) the same.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RunFeed } from '../../src/extension/panels/runFeed';
import type { RunsSource } from '../../src/extension/panels/panelContext';
import { HostMessageType, type HostMessage } from '../../src/extension/protocol';
import type { MetricRecord } from '../../src/report/model/metrics';
import { readRunSnapshot } from '../../src/report/runFiles';
import { METRIC_ROW_CAP, MetricSplits } from '../../src/report/model/thinning';
import { tempFiles } from '../helpers/tmp';

const t = tempFiles({});
afterAll(() => t.cleanup());

function record(i: number): MetricRecord {
  return { time: 1_700_000_000 + i, epoch: 1 + Math.floor(i / 5000), iter: i + 1, split: 'train', loss: 3 / (1 + i / 1000), lr: 0.01, eta_s: 300_000 - i };
}

/** A RunsSource whose follower the test drives. */
function fakeRuns(dir: string) {
  let deliver: ((read: { records: MetricRecord[]; reset: boolean; more?: boolean }) => void) | undefined;
  const source: RunsSource = {
    followMetrics: (_dir, listener) => {
      deliver = listener;
      return { dispose: () => (deliver = undefined) };
    },
    onChange: () => ({ dispose: () => undefined }),
    runs: () => [{ dir, state: 'running' }],
  };
  return { source, deliver: (records: MetricRecord[], reset = false, more = false) => deliver!({ records, reset, ...(more ? { more } : {}) }) };
}

describe('run feed', () => {
  it('keeps at most the cap of 150k records delivered in batches; the page keeps the same rows; a fresh read too', () => {
    const dir = path.join(t.dir, 'run');
    fs.mkdirSync(dir);
    const runs = fakeRuns(dir);
    const total = 150_000;
    const all = Array.from({ length: total }, (_v, i) => record(i));
    const feed = new RunFeed(dir, runs.source);
    runs.deliver(all.slice(0, 20_000));
    const page = new MetricSplits();
    const sent: HostMessage[] = [];
    feed.attach((m) => sent.push(m));
    page.append(feed.snapshot().tables);
    for (let at = 20_000, b = 0; at < total; at += 97, b++) {
      runs.deliver(all.slice(at, at + 97));
      for (const m of sent.splice(0)) if (m.type === HostMessageType.MetricsAppended) page.append(m.tables);
      if (b % 100 === 0) expect(feed.snapshot().tables[0].length).toBeLessThanOrEqual(METRIC_ROW_CAP + 1);
    }
    const snap = feed.snapshot().tables;
    expect(snap).toHaveLength(1);
    const train = snap[0];
    expect(train.length).toBeGreaterThan(METRIC_ROW_CAP / 2);
    expect(train.length).toBeLessThanOrEqual(METRIC_ROW_CAP + 1);
    expect(train.thinned?.rows).toBe(total);
    // The newest row is kept: last loss, iteration and ETA are exact.
    expect(train.columns.iter[train.length - 1]).toBe(total);
    expect(train.columns.loss[train.length - 1]).toBe(all[total - 1].loss);
    // The page holds exactly what the feed holds.
    const p = page.split('train')!;
    expect(p.rows).toBe(total);
    expect(p.toTable()).toEqual(train);
    // Without the watcher the snapshot reads the file: the same rows.
    fs.writeFileSync(path.join(dir, 'metrics.jsonl'), all.map((r) => JSON.stringify(r)).join('\n') + '\n');
    expect(readRunSnapshot(dir).tables).toEqual(snap);
    // A rewritten file (a resumed run) starts again.
    runs.deliver(all.slice(0, 10), true);
    expect(sent.find((m) => m.type === HostMessageType.RunSnapshot)).toBeDefined();
    expect(feed.snapshot().tables[0]).toMatchObject({ length: 10 });
    expect(feed.snapshot().tables[0].thinned).toBeUndefined();
    feed.dispose();
  });

  it('a backlog in several batches: one snapshot at its end, not a message per batch; a run followed before its first line sends that line', () => {
    const dir = path.join(t.dir, 'backlog');
    fs.mkdirSync(dir);
    const all = Array.from({ length: 30 }, (_v, i) => record(i));
    const runs = fakeRuns(dir);
    const feed = new RunFeed(dir, runs.source);
    runs.deliver(all.slice(0, 10), false, true);
    const sent: HostMessage[] = [];
    feed.attach((m) => sent.push(m)); // the page loads in the middle of the backlog
    expect(feed.snapshot().tables[0].length).toBe(10);
    runs.deliver(all.slice(10, 20), false, true);
    expect(sent).toEqual([]);
    runs.deliver(all.slice(20, 25));
    expect(sent.map((m) => m.type)).toEqual([HostMessageType.RunSnapshot]);
    expect((sent[0] as { run: { tables: Array<{ length: number }> } }).run.tables[0].length).toBe(25);
    runs.deliver(all.slice(25));
    expect(sent.map((m) => m.type)).toEqual([HostMessageType.RunSnapshot, HostMessageType.MetricsAppended]);
    feed.dispose();

    // metrics.jsonl empty when the panel opened: the follower says nothing until the first line,
    // which the page must get (it was taken for the backlog and sent nowhere).
    const fresh = fakeRuns(dir);
    const empty = new RunFeed(dir, fresh.source);
    const page: HostMessage[] = [];
    empty.attach((m) => page.push(m));
    fresh.deliver(all.slice(0, 1));
    expect(page.map((m) => m.type)).toEqual([HostMessageType.RunSnapshot]);
    expect(empty.snapshot().tables[0].length).toBe(1);
    empty.dispose();
  });
});
