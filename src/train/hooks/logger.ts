/**
 * Logging: a progress line on the terminal every iteration, and every `log_interval` iterations a
 * line in metrics.jsonl, log.txt and the TensorBoard events file with the interval's mean loss,
 * the learning rate, samples/s, the process's memory and the ETA.
 */
import { PRIORITY, type Hook, type IterOutput, type RunnerApi } from '../hook';
import { bar, formatDuration, formatNumber, StatusLine } from '../progress';

export interface MetricsSink {
  scalars(step: number, values: Record<string, number>, prefix: string): void;
  close(): void;
}

/**
 * The training process's resident memory in GB (three decimals): what the run holds of the host's
 * memory, the figure to watch against a container's limit (mmengine logs the GPU's as `memory`).
 */
function memoryGb(): number {
  return Math.round(process.memoryUsage.rss() / 1e6) / 1e3;
}

export class LoggerHook implements Hook {
  readonly name = 'LoggerHook';
  readonly priority = PRIORITY.veryLow;
  private sum = { loss: 0, n: 0, samples: 0, seconds: 0, dataSeconds: 0 };
  private logs: Record<string, number> = {};
  /** Seconds per iteration, smoothed, for the ETA (the first iterations warm up caches and are slow). */
  private secondsPerIter = 0;
  private runStart = 0;

  constructor(
    private readonly interval: number,
    private readonly status: StatusLine,
    private readonly sinks: MetricsSink[] = [],
  ) {}

  beforeRun(): void {
    this.runStart = Date.now();
  }

  afterIter(r: RunnerApi, out: IterOutput): void {
    this.sum.loss += out.loss;
    this.sum.n += 1;
    this.sum.samples += out.samples;
    this.sum.seconds += out.seconds;
    this.sum.dataSeconds += out.dataSeconds;
    for (const [k, v] of Object.entries(out.logs)) this.logs[k] = (this.logs[k] ?? 0) + v;
    this.secondsPerIter = this.secondsPerIter === 0 ? out.seconds : 0.9 * this.secondsPerIter + 0.1 * out.seconds;
    const eta = (r.maxIters - r.iter) * this.secondsPerIter;
    const rate = out.samples / Math.max(out.seconds, 1e-9);
    this.status.update(
      () => `epoch ${r.epoch + 1}/${r.maxEpochs} iter ${r.iter}/${r.maxIters} ${bar(r.iter / r.maxIters)} loss ${formatNumber(out.loss)} lr ${formatNumber(out.lr)} ${rate.toFixed(1)} samples/s mem ${formatNumber(memoryGb())} GB ETA ${formatDuration(eta)}`,
    );
    if (r.iter % this.interval === 0 || r.iter === r.maxIters) this.flush(r, out.lr, eta);
  }

  private flush(r: RunnerApi, lr: number, eta: number): void {
    const n = Math.max(1, this.sum.n);
    const record: Record<string, number | string> = {
      split: 'train',
      loss: this.sum.loss / n,
      lr,
      samples_per_s: this.sum.samples / Math.max(this.sum.seconds, 1e-9),
      iter_time: this.sum.seconds / n,
      data_time: this.sum.dataSeconds / n,
      eta_s: Math.round(eta),
      elapsed_s: Math.round((Date.now() - this.runStart) / 1000),
      memory_gb: memoryGb(),
    };
    for (const [k, v] of Object.entries(this.logs)) record[k] = v / n;
    r.writeMetrics(record);
    const numeric = Object.fromEntries(Object.entries(record).filter(([, v]) => typeof v === 'number')) as Record<string, number>;
    for (const s of this.sinks) s.scalars(r.iter, numeric, 'train');
    const extras = Object.entries(this.logs)
      .map(([k, v]) => `${k} ${formatNumber(v / n)}`)
      .join(' ');
    r.log(
      `epoch ${r.epoch + 1}/${r.maxEpochs} iter ${r.iter}/${r.maxIters} loss ${formatNumber(record.loss as number)} ${extras ? extras + ' ' : ''}lr ${formatNumber(lr)} ${(record.samples_per_s as number).toFixed(1)} samples/s mem ${formatNumber(record.memory_gb as number)} GB ETA ${formatDuration(eta)}`,
    );
    this.sum = { loss: 0, n: 0, samples: 0, seconds: 0, dataSeconds: 0 };
    this.logs = {};
  }

  afterEval(r: RunnerApi, metrics: Record<string, number>): void {
    const bySplit = new Map<string, Record<string, number>>();
    for (const [k, v] of Object.entries(metrics)) {
      const [split, name] = k.includes('/') ? [k.slice(0, k.indexOf('/')), k.slice(k.indexOf('/') + 1)] : ['eval', k];
      bySplit.set(split, { ...(bySplit.get(split) ?? {}), [name]: v });
    }
    for (const [split, values] of bySplit) for (const s of this.sinks) s.scalars(r.iter, values, split);
  }

  afterRun(): void {
    this.status.done();
    for (const s of this.sinks) s.close();
  }
}
