/**
 * The processes of one data-parallel run (MPI's COMM_WORLD): this process's rank, the world size,
 * every rank's host, and the collectives the trainer uses. A process started by mpirun or srun
 * (Open MPI's or PMIx's environment) with more than one rank joins the world; any other process
 * trains alone and never loads MPI.
 */
import { loadBinding, type MpiBinding } from './binding';
import { UserError } from '../core/problems';

/** How long a collective waits for the other ranks by default (PyTorch's NCCL default too): checkpoints and evaluations of rank 0 fit in it. */
export const DEFAULT_COLLECTIVE_TIMEOUT_S = 600;

/** A collective some ranks never joined (stopped, stuck, or in another step): the job must end. */
export class CollectiveTimeoutError extends UserError {
  constructor(
    message: string,
    readonly missing: number[],
  ) {
    super(message);
    this.name = 'CollectiveTimeoutError';
  }
}

/** What the binding's ETIMEDOUT error carries. */
interface BindingTimeout {
  code: 'ETIMEDOUT';
  missing: number[];
  collective: string;
  seq: number;
  waited: number;
}

/** Ranks in the world according to the launcher's environment (1: not launched by mpirun/srun). */
export function launcherWorldSize(env: NodeJS.ProcessEnv = process.env): number {
  if (env.CVW_DISTRIBUTED === '0') return 1;
  const size = Number(env.OMPI_COMM_WORLD_SIZE ?? env.PMIX_SIZE ?? env.PMI_SIZE ?? (env.PMIX_RANK !== undefined ? env.SLURM_NTASKS : undefined) ?? 1);
  return Number.isInteger(size) && size > 1 ? size : 1;
}

const HOST_BYTES = 256;

export class World {
  readonly hosts: string[];

  private timeoutSeconds = DEFAULT_COLLECTIVE_TIMEOUT_S;

  private constructor(
    private readonly mpi: MpiBinding,
    readonly rank: number,
    readonly size: number,
  ) {
    this.hosts = [];
    const own = mpi.processorName();
    for (let r = 0; r < size; r++) this.hosts.push(this.bcastString(r === rank ? own : '', r, HOST_BYTES));
  }

  /** Join the launcher's world (builds the binding on first use). */
  static join(log?: (m: string) => void): World {
    const mpi = loadBinding(log);
    const { rank, size } = mpi.init();
    return new World(mpi, rank, size);
  }

  get host(): string {
    return this.hosts[this.rank];
  }

  /** `rank N (host)`, for messages. */
  describe(rank = this.rank): string {
    return `rank ${rank} (${this.hosts[rank] ?? '?'})`;
  }

  /** Seconds a collective waits for every rank before the ranks that never came are named (runner.collective_timeout). */
  setTimeout(seconds: number): void {
    this.mpi.setTimeout(seconds);
    this.timeoutSeconds = seconds;
  }

  bcast(data: ArrayBufferView, root = 0): void {
    this.sync(() => this.mpi.bcast(data, root));
  }

  /** A string from `root` to every rank (at most `maxBytes` of UTF-8, the rest cut). */
  bcastString(text: string, root = 0, maxBytes?: number): string {
    const len = new Int32Array([Buffer.byteLength(text)]);
    if (maxBytes === undefined) this.bcast(len, root);
    const buf = Buffer.alloc(maxBytes ?? len[0]);
    if (this.rank === root) buf.write(text, 'utf8');
    this.bcast(buf, root);
    return maxBytes === undefined ? buf.toString('utf8') : buf.toString('utf8').replace(/\0+$/, '');
  }

  /** Sum `data` over all ranks, in place. */
  allreduceSum(data: Float32Array | Float64Array): Promise<void> {
    return this.mpi.allreduceSum(data).catch((e: unknown) => Promise.reject(this.explain(e)));
  }

  /** The same, blocking: inside a forward or backward pass (SyncBatchNorm's statistics). */
  allreduceSumSync(data: Float32Array | Float64Array): void {
    this.sync(() => this.mpi.allreduceSumSync(data));
  }

  barrier(): Promise<void> {
    return this.mpi.barrier().catch((e: unknown) => Promise.reject(this.explain(e)));
  }

  private sync(call: () => void): void {
    try {
      call();
    } catch (e) {
      throw this.explain(e);
    }
  }

  /** The binding's timeout as the message users see: which ranks (and hosts) never came. */
  private explain(e: unknown): unknown {
    const t = e as Partial<BindingTimeout>;
    if (t?.code !== 'ETIMEDOUT' || !Array.isArray(t.missing)) return e;
    const what = (t.collective ?? 'collective').replace(/^MPI_/, '').toLowerCase();
    const them = t.missing.length === 1 ? 'it hangs or waits' : 'they hang or wait';
    const message = t.missing.length
      ? `${t.missing.map((r) => this.describe(r)).join(', ')} did not join ${what} #${t.seq} within ${this.timeoutSeconds} s (${this.describe()} waited ${Math.round(t.waited ?? 0)} s): ${them} elsewhere`
      : `every rank waited in ${what} #${t.seq} for ${this.timeoutSeconds} s and it did not complete`;
    return new CollectiveTimeoutError(
      `${message}; the job ends (runner.collective_timeout sets the wait)`,
      t.missing,
    );
  }

  /** A collective is waiting for the other ranks right now. */
  inFlight(): boolean {
    return this.mpi.inFlight();
  }

  /** End every rank of the job (mpirun reports which rank asked). */
  abort(code = 1): never {
    this.mpi.abort(code);
    process.exit(code);
  }

  finalize(): void {
    this.mpi.finalize();
  }
}

/** The world when launched on several ranks, else undefined. */
export function joinWorldIfLaunched(log?: (m: string) => void): World | undefined {
  return launcherWorldSize() > 1 ? World.join(log) : undefined;
}
