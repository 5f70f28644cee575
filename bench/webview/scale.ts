/**
 * The run dashboard with a million logged rows, in Chromium (the same page and bundle as in VS
 * Code, the fake host of the browser tests): how long the first drawing takes, what hover, zoom
 * and a new smoothing weight cost, and how a live run's appends are drawn at 1,000,000 rows
 * (update rate, frame gaps). Plus the host's side: metrics.jsonl text to the columnar tables it
 * posts. Figures go to BENCHMARKS.md ("Panels").
 *
 *   nice -n 10 npx vite-node bench/webview/scale.ts [rows=1000000]
 */
import * as os from 'node:os';
import { PanelKind } from '../../src/extension/protocol';
import { parseMetricLines, toMetricTables } from '../../src/report/model/metrics';
import { buildWebviews, launchChromium, screenshot, servePanels } from '../../test/webview/browser';
import { syntheticRecords } from '../../test/webview/fixtures/syntheticRun';

const ROWS = Number(process.argv[2] ?? 1_000_000);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function p95(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * 0.95))];
}

async function hostSide(): Promise<Record<string, number>> {
  // What the host does with the follower's first delivery of a 1M-line metrics.jsonl.
  const records = syntheticRecords({ iters: ROWS, epochs: 100, logInterval: 1, start: 1_790_000_000 });
  const text = records.map((r) => JSON.stringify(r)).join('\n') + '\n';
  // CPU time as well as wall time: the machine is shared, a core is not always ours.
  const cpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  let t = performance.now();
  let c = cpu();
  const parsed = parseMetricLines(text);
  const parseMs = performance.now() - t;
  const parseCpuMs = cpu() - c;
  t = performance.now();
  c = cpu();
  const tables = toMetricTables(parsed);
  const tablesMs = performance.now() - t;
  const tablesCpuMs = cpu() - c;
  const bytes = tables.reduce((a, tb) => a + Object.values(tb.columns).reduce((b, c) => b + c.byteLength, 0), 0);
  return { lines: parsed.length, textMB: text.length / 1e6, parseMs, parseCpuMs, tablesMs, tablesCpuMs, tableMB: bytes / 1e6 };
}

async function main(): Promise<void> {
  const host = await hostSide();
  console.log('host', host);
  const server = await servePanels(await buildWebviews());
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.goto(server.url('dashboard', { kind: PanelKind.Dashboard, dir: '/runs/big', chart: { x: 'iter', smoothing: 0, logScale: false } }));
    await page.waitForFunction(() => (window as any).__posted.some((m: any) => m.type === 'ready'));
    // The rows are made in the page (posting 1M rows as JSON from here would measure playwright);
    // the message is what the host posts: typed columns.
    const load = await page.evaluate((rows: number) => {
      const w = window as any;
      const cols: Record<string, Float64Array> = {};
      for (const k of ['time', 'epoch', 'iter', 'loss', 'lr', 'samples_per_s', 'iter_time', 'data_time', 'eta_s']) cols[k] = new Float64Array(rows);
      let seed = 1;
      const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
      for (let i = 0; i < rows; i++) {
        const p = i / rows;
        cols.time[i] = 1_790_000_000 + i * 0.05;
        cols.epoch[i] = Math.floor(p * 100) + 1;
        cols.iter[i] = i + 1;
        cols.loss[i] = 0.3 + 2 * Math.exp(-5 * p) + (rnd() - 0.5) * 0.2 + (i % 99991 === 0 ? 3 : 0);
        cols.lr[i] = 0.05 * (1 + Math.cos(Math.PI * p));
        cols.samples_per_s[i] = 1200 + (rnd() - 0.5) * 100;
        cols.iter_time[i] = 0.05 * (1 + (rnd() - 0.5) * 0.1);
        cols.data_time[i] = 0.005;
        cols.eta_s[i] = (rows - i) * 0.05;
      }
      const evalRows = 100;
      const ev: Record<string, Float64Array> = { time: new Float64Array(evalRows), iter: new Float64Array(evalRows), epoch: new Float64Array(evalRows), accuracy_top1: new Float64Array(evalRows) };
      for (let e = 0; e < evalRows; e++) {
        ev.iter[e] = ((e + 1) * rows) / evalRows;
        ev.time[e] = 1_790_000_000 + ev.iter[e] * 0.05;
        ev.epoch[e] = e + 1;
        ev.accuracy_top1[e] = 0.9 * (1 - Math.exp(-3 * (e + 1) / evalRows));
      }
      const summary = { dir: '/runs/big', id: 'big', configStem: 'scale', status: 'running', epoch: 100, iter: rows, maxIters: rows * 2, maxEpochs: 200, started: new Date(1_790_000_000_000).toISOString() };
      const msg = { type: 'runSnapshot', run: { summary, tables: [{ split: 'train', length: rows, columns: cols }, { split: 'val', length: evalRows, columns: ev }] } };
      return new Promise<{ firstDrawMs: number; points: number[]; heapMB: number }>((resolve) => {
        const t0 = performance.now();
        window.dispatchEvent(new MessageEvent('message', { data: msg }));
        const wait = () => {
          const charts = w.cvwDashboard.charts();
          if (charts.length && charts.every((c: any) => c.redraws > 0)) {
            requestAnimationFrame(() =>
              resolve({ firstDrawMs: performance.now() - t0, points: charts.map((c: any) => c.drawnPoints), heapMB: ((performance as any).memory?.usedJSHeapSize ?? 0) / 1e6 }),
            );
          } else requestAnimationFrame(wait);
        };
        requestAnimationFrame(wait);
      });
    }, ROWS);
    console.log('load', load);
    await screenshot(page, 'bench-1m-rows');

    // Hover: the legend reads the exact rows nearest the cursor (a binary search per line).
    const hover = await page.evaluate(() => {
      const c = (window as any).cvwDashboard.charts()[0];
      const u = c.plot;
      const times: number[] = [];
      for (let i = 0; i < 200; i++) {
        const t = performance.now();
        u.setCursor({ left: (i * 7919) % u.bbox.width / devicePixelRatio, top: 50 });
        times.push(performance.now() - t);
      }
      const exact = Array.from(c.element.querySelectorAll('.u-legend .u-value')).map((e: any) => e.textContent);
      return { times, exact };
    });
    console.log('hover median', median(hover.times), 'p95', p95(hover.times), hover.exact);

    // Zoom every chart to 1% of the run, then back.
    const zoom = await page.evaluate(async () => {
      const charts = (window as any).cvwDashboard.charts();
      const zoomGroup = charts[0].zoom ?? charts[0]['zoom'];
      const out: number[] = [];
      for (let k = 0; k < 10; k++) {
        const lo = 100_000 + k * 50_000;
        const t = performance.now();
        zoomGroup.set([lo, lo + 10_000]);
        out.push(performance.now() - t);
      }
      const t = performance.now();
      zoomGroup.set(undefined);
      const reset = performance.now() - t;
      return { zoomMs: out, resetMs: reset, zoomedPoints: charts[0].drawnPoints };
    });
    console.log('zoom median', median(zoom.zoomMs), 'reset', zoom.resetMs);

    // A new smoothing weight: the EMA of every training column and its pyramid, recomputed.
    const smooth = await page.evaluate(async () => {
      const charts = (window as any).cvwDashboard.charts();
      const times: number[] = [];
      for (const w of [0.6, 0.9, 0.95]) {
        const t = performance.now();
        for (const c of charts) c.setSettings({ x: 'iter', smoothing: w, logScale: false });
        times.push(performance.now() - t);
      }
      return times;
    });
    console.log('smoothing', smooth);

    // Live: 100 rows every 50 ms (20 messages a second) for 5 s on top of the million rows.
    const live = await page.evaluate(async (rows: number) => {
      const w = window as any;
      const charts = w.cvwDashboard.charts();
      const r0 = charts.map((c: any) => c.redraws);
      const gaps: number[] = [];
      let last = performance.now();
      let run = true;
      const tick = () => {
        const now = performance.now();
        gaps.push(now - last);
        last = now;
        if (run) requestAnimationFrame(tick);
      };
      requestAnimationFrame(tick);
      const handle: number[] = [];
      const t0 = performance.now();
      let iter = rows;
      for (let m = 0; m < 100; m++) {
        const n = 100;
        const cols: Record<string, Float64Array> = {};
        for (const k of ['time', 'epoch', 'iter', 'loss', 'lr', 'samples_per_s', 'iter_time', 'data_time', 'eta_s']) cols[k] = new Float64Array(n);
        for (let i = 0; i < n; i++) {
          iter++;
          cols.time[i] = 1_790_000_000 + iter * 0.05;
          cols.epoch[i] = 101;
          cols.iter[i] = iter;
          cols.loss[i] = 0.3 + Math.random() * 0.1;
          cols.lr[i] = 0.05;
          cols.samples_per_s[i] = 1200;
          cols.iter_time[i] = 0.05;
          cols.data_time[i] = 0.005;
          cols.eta_s[i] = 1000;
        }
        const t = performance.now();
        window.dispatchEvent(new MessageEvent('message', { data: { type: 'metricsAppended', dir: '/runs/big', tables: [{ split: 'train', length: n, columns: cols }] } }));
        handle.push(performance.now() - t);
        await new Promise((res) => setTimeout(res, 50));
      }
      await new Promise((res) => requestAnimationFrame(() => requestAnimationFrame(res)));
      run = false;
      const seconds = (performance.now() - t0) / 1000;
      const redraws = charts.map((c: any, i: number) => c.redraws - r0[i]);
      return { seconds, redraws, perSecond: redraws.map((x: number) => x / seconds), handleMs: handle, gaps };
    }, ROWS);
    // The cost of one redraw of each chart at 1M rows (what every live update pays per chart).
    const redrawMs = await page.evaluate(() => {
      const charts = (window as any).cvwDashboard.charts();
      const per: number[] = [];
      for (let k = 0; k < 20; k++) {
        const t = performance.now();
        for (const c of charts) c.refresh();
        per.push((performance.now() - t) / charts.length);
      }
      return per;
    });
    console.log('redraw per chart', median(redrawMs));
    console.log('live', { seconds: live.seconds, redraws: live.redraws, perSecond: live.perSecond, handleMedian: median(live.handleMs), gapMedian: median(live.gaps), gapP95: p95(live.gaps), gapMax: Math.max(...live.gaps) });
    await page.close();

    const lines = [
      `rows ${ROWS.toLocaleString('en')} (train) + 100 (val); ${os.cpus().length} cores ${os.cpus()[0].model}; load ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`,
      `host: parse ${host.textMB.toFixed(0)} MB of metrics.jsonl ${host.parseMs.toFixed(0)} ms wall / ${host.parseCpuMs.toFixed(0)} ms CPU; to columnar tables ${host.tablesMs.toFixed(0)} ms wall / ${host.tablesCpuMs.toFixed(0)} ms CPU (${host.tableMB.toFixed(0)} MB of Float64 columns)`,
      `first drawing (snapshot message -> every chart drawn): ${load.firstDrawMs.toFixed(0)} ms; points drawn per chart ${load.points.join(', ')}; JS heap ${load.heapMB.toFixed(0)} MB`,
      `hover (legend from exact rows): median ${median(hover.times).toFixed(2)} ms, p95 ${p95(hover.times).toFixed(2)} ms`,
      `zoom all charts to 10,000 rows: median ${median(zoom.zoomMs).toFixed(1)} ms; back to all rows ${zoom.resetMs.toFixed(1)} ms; points when zoomed ${zoom.zoomedPoints}`,
      `new smoothing weight, all charts (EMA + pyramid over 1M rows per line): ${smooth.map((x: number) => x.toFixed(0)).join(', ')} ms`,
      `one redraw of one chart (downsample the visible rows + uPlot): median ${median(redrawMs).toFixed(2)} ms`,
      `live: 100 messages of 100 rows at 20/s: redraws per chart per second ${live.perSecond.map((x: number) => x.toFixed(1)).join(', ')}; message handling median ${median(live.handleMs).toFixed(2)} ms; frame gap median ${median(live.gaps).toFixed(1)} ms, p95 ${p95(live.gaps).toFixed(1)} ms, max ${Math.max(...live.gaps).toFixed(1)} ms`,
    ];
    console.log('\n' + lines.join('\n'));
  } finally {
    await browser.close();
    await server.close();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
