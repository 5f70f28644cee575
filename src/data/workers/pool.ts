/**
 * A pool of decoding worker threads (worker_threads), or the main thread when `workers` is 0.
 * Each task is one batch; a task goes to the worker with the fewest tasks queued.
 *
 * Under a TypeScript test runner the worker's module is a .ts file: the worker then starts
 * through sucrase's require hook (a dependency already, for custom imports).
 */
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { BatchMaker } from './batchMaker';
import type { BatchResult, FromWorker, TaskItem, ToWorker, WorkerInit } from './protocol';

interface Pending {
  resolve(r: BatchResult): void;
  reject(e: Error): void;
  /** The batch's items, for a worker that dies while making it (it cannot say which one killed it). */
  items: string;
}

class WorkerHandle {
  readonly pending = new Map<number, Pending>();
  private failed?: Error;

  constructor(readonly worker: Worker) {
    // Idle workers do not keep the process alive; busy ones do (see run).
    worker.unref();
    worker.on('message', (msg: FromWorker) => {
      if (msg.type !== 'result') return;
      const p = this.pending.get(msg.id);
      this.pending.delete(msg.id);
      if (!this.pending.size) worker.unref();
      p?.resolve({ batch: msg.batch, failures: msg.failures, fatal: msg.fatal });
    });
    const fail = (why: string) => {
      const batches = [...this.pending.values()];
      this.failed = new Error(`${why}; it was making the batch of ${batches.map((p) => p.items).join(', and the batch of ')}`);
      for (const p of batches) p.reject(this.failed);
      this.pending.clear();
    };
    worker.on('error', (err) => fail(`decoding worker crashed: ${err.message}`));
    worker.on('exit', (code) => {
      if (this.pending.size) fail(`decoding worker exited (code ${code}) with ${this.pending.size} batch(es) unfinished`);
    });
  }

  run(id: number, epoch: number, items: TaskItem[]): Promise<BatchResult> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, items: describeItems(items) });
      if (this.pending.size === 1) this.worker.ref();
      const msg: ToWorker = { type: 'task', id, epoch, items };
      this.worker.postMessage(msg, transferables(items));
    });
  }
}

/** A batch's items in a message: the first and last, and how many. */
function describeItems(items: TaskItem[]): string {
  if (items.length === 1) return items[0].where;
  return `${items.length} items from ${items[0].where} to ${items[items.length - 1].where}`;
}

/** The byte buffers of encoded images and pixels, moved rather than copied to the worker. */
function transferables(items: TaskItem[]): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  for (const it of items) {
    const img = it.image;
    const bytes = img.kind === 'encoded' ? img.bytes : img.kind === 'pixels' ? img.data : undefined;
    // Only buffers the item owns entirely: transferring a view into a larger buffer would detach it.
    if (bytes && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer) out.push(bytes.buffer);
  }
  return out;
}

function workerEntry(): { file: string; eval: boolean; data?: Record<string, string> } {
  if (__filename.endsWith('.ts')) {
    return {
      file: 'require(require("node:worker_threads").workerData.__hook); require(require("node:worker_threads").workerData.__entry);',
      eval: true,
      data: { __hook: require.resolve('sucrase/register/ts'), __entry: path.join(__dirname, 'sampleWorker.ts') },
    };
  }
  return { file: path.join(__dirname, 'sampleWorker.js'), eval: false };
}

export class SamplePool {
  private nextId = 0;

  private constructor(
    private readonly workers: WorkerHandle[],
    private readonly inline?: BatchMaker,
  ) {}

  /** Start `count` workers (0: decode on the calling thread) and wait until each has built its pipelines. */
  static async create(count: number, init: WorkerInit): Promise<SamplePool> {
    if (count === 0) return new SamplePool([], new BatchMaker(init));
    const entry = workerEntry();
    const workers = Array.from({ length: count }, () => new Worker(entry.file, { eval: entry.eval, workerData: { ...init, ...entry.data } }));
    try {
      await Promise.all(
        workers.map(
          (w) =>
            new Promise<void>((resolve, reject) => {
              const onMessage = (msg: FromWorker) => {
                if (msg.type === 'ready') resolve();
                else if (msg.type === 'init-error') reject(new Error(msg.message));
                else return;
                w.off('message', onMessage);
              };
              w.on('message', onMessage);
              w.once('error', reject);
              w.once('exit', (code) => reject(new Error(`decoding worker exited during start-up (code ${code})`)));
            }),
        ),
      );
    } catch (err) {
      await terminateAll(workers);
      throw err;
    }
    return new SamplePool(workers.map((w) => new WorkerHandle(w)));
  }

  get size(): number {
    return this.workers.length;
  }

  run(epoch: number, items: TaskItem[]): Promise<BatchResult> {
    if (this.inline) return this.inline.make(epoch, items);
    let best = this.workers[0];
    for (const w of this.workers) if (w.pending.size < best.pending.size) best = w;
    return best.run(this.nextId++, epoch, items);
  }

  close(): Promise<void> {
    return terminateAll(this.workers.map((w) => w.worker));
  }
}

/**
 * Terminate workers and wait until they have exited. While a worker terminates nothing keeps the
 * event loop alive (its handle is closing; terminate()'s promise does not count): a failed
 * `cvw train` was seen ending with exit code 0, its error unprinted, in the middle of this wait.
 * A timer holds the loop until every worker is gone.
 */
async function terminateAll(workers: Worker[]): Promise<void> {
  const keepAlive = setInterval(() => undefined, 1000);
  try {
    await Promise.all(workers.map((w) => w.terminate()));
  } finally {
    clearInterval(keepAlive);
  }
}
