/**
 * Training throughput of the benchmark models (bench/engine/benchModels.ts: the CIFAR-style
 * ResNet-18, MobileNetV2, a ViT-S with 4x4 patches; all at 32x32, 10 classes): samples/s of a full
 * step (forward + backward + SGD update) on each engine, against PyTorch CPU running the same
 * architecture (the model's `*_torch.py` next to this file) in the same run, with a per-kernel time
 * profile of one step on each engine.
 *
 *   nice -n 10 node -r sucrase/register bench/engine/models.ts --model resnet18|mobilenetv2|vit-s \
 *     [--engines wasm-ort] [--batch 64] [--steps 3] [--warmup 1] [--cpu-batch 1] [--threads 2] [--no-torch]
 *     [--torch-default-malloc]
 *
 * Every measurement runs in a fresh child process, one at a time, the engines under the glibc malloc
 * tunables `cvw` runs them with and PyTorch under the same unless --torch-default-malloc; PyTorch runs first and again
 * last, so a change in machine load between them shows. Both sides' parameter tensors are compared
 * (their element counts, as a multiset) and the run fails when they differ: the comparison is only
 * valid for the same architecture. The cpu backend is far too slow for batch 64 (one ResNet-18 step
 * would take hours): it runs one step at --cpu-batch, and its samples/s is quoted at that batch (its
 * kernels are per-sample loops, so the rate barely depends on the batch).
 *
 * PyTorch's matrix products (the ViT's Linear layers and attention) run on the system's
 * libblas.so.3, Debian's unoptimised reference BLAS unless OpenBLAS is installed; the report names
 * the library and says when the comparison is not valid. Without installing anything:
 *
 *   apt-get download libopenblas0-pthread && dpkg -x libopenblas0-pthread_*.deb /tmp/openblas
 *   LD_LIBRARY_PATH=/tmp/openblas/usr/lib/x86_64-linux-gnu/openblas-pthread node -r sucrase/register bench/engine/models.ts --model vit-s
 */
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { initEngine } from '../../src/engine';
import type { EngineConfig } from '../../src/engine/configSection';
import { BENCH_MODELS, benchModel, type BenchModelName } from './benchModels';
import { classifierStep } from './trainStep';
import { formatProfile, profileOneStep, type StepProfile } from './profile';
import { MALLOC_TUNABLES_VALUE, withMallocTunables } from '../../src/core/mallocTunables';

export interface EngineResult {
  engine: string;
  batch: number;
  stepMs: number[];
  samplesPerS: number;
  params: number;
  /** Element count of every parameter tensor, ascending. */
  paramSizes: number[];
  summary: string;
  profile?: StepProfile;
  /** GLIBC_TUNABLES of the process that measured it. */
  glibcTunables?: string;
}

export interface TorchResult {
  samples_per_s: number;
  step_ms: number[];
  torch: string;
  threads: number;
  /** The BLAS library PyTorch loaded (its matrix products run there; see torch_step.py). */
  blas: string | null;
  params: number;
  param_sizes: number[];
}

export interface BenchOptions {
  model: BenchModelName;
  engines: string[];
  batch: number;
  steps: number;
  /** Unmeasured steps before the measured ones (the engines' sessions and allocations, PyTorch's too). */
  warmup: number;
  cpuBatch: number;
  threads: number;
  torch: boolean;
  /**
   * glibc malloc settings of PyTorch's process: 'tuned' (the engine's, as `cvw` runs it:
   * src/core/mallocTunables.ts) compares like with like; 'default' is PyTorch as it is usually run.
   */
  torchMalloc: 'tuned' | 'default';
}

export interface BenchReport {
  options: BenchOptions;
  started: string;
  loadAverage: number;
  results: EngineResult[];
  /** PyTorch's first and last runs (none with `torch: false`). */
  torch: TorchResult[];
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Child: measure one engine and print JSON. */
async function child(engine: EngineConfig['backend'], modelName: string, batch: number, steps: number, threads: number, warmup: number): Promise<void> {
  const model = benchModel(modelName);
  const report = await initEngine({ backend: engine, threads });
  const bench = classifierStep(model.backbone, batch, 0, model.imageSize);
  for (let i = 0; i < warmup; i++) await bench.step();
  const stepMs: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t = performance.now();
    await bench.step();
    stepMs.push(performance.now() - t);
  }
  // One more step under tf.profile for the per-kernel times; with no measured steps (the cpu
  // backend) it is the measured step too.
  const profile = await profileOneStep(() => bench.step());
  if (steps === 0) stepMs.push(profile.wallMs);
  const params = bench.model.namedParameters().map(([, p]) => p.variable.size);
  const result: EngineResult = {
    engine,
    batch,
    stepMs,
    samplesPerS: (batch * 1000) / median(stepMs),
    params: bench.model.parameterCount(),
    paramSizes: params.sort((a, b) => a - b),
    summary: report.summary,
    profile,
    glibcTunables: process.env.GLIBC_TUNABLES,
  };
  bench.dispose();
  process.stdout.write(JSON.stringify(result) + '\n');
}

function runChild(args: string[]): string {
  // The engine runs as `cvw` runs it: under glibc's malloc tunables (src/cli/relaunch.ts).
  const env = withMallocTunables(process.env);
  const r = spawnSync(process.execPath, ['-r', 'sucrase/register', path.join(__dirname, 'models.ts'), ...args], { encoding: 'utf8', maxBuffer: 64 * 2 ** 20, cwd: path.join(__dirname, '..', '..'), env });
  if (r.status !== 0) throw new Error(`child ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
  return r.stdout.trim().split('\n').pop()!;
}

function runTorch(o: BenchOptions): TorchResult {
  const model = BENCH_MODELS[o.model];
  const args = ['--batch', String(o.batch), '--steps', String(o.steps), '--warmup', String(o.warmup), '--threads', String(o.threads), '--size', String(model.imageSize)];
  // OpenBLAS sizes its own thread pool (torch.set_num_threads reaches only OpenMP): the same threads as the rest.
  const base = o.torchMalloc === 'tuned' ? withMallocTunables(process.env) : process.env;
  const env = { ...base, OPENBLAS_NUM_THREADS: process.env.OPENBLAS_NUM_THREADS ?? String(o.threads) };
  const r = spawnSync('/usr/bin/python3', [model.torchScript, ...args], { encoding: 'utf8', maxBuffer: 64 * 2 ** 20, env });
  if (r.status !== 0) throw new Error(`PyTorch reference ${path.basename(model.torchScript)} failed (${r.status ?? r.error?.message}):\n${r.stderr}`);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as TorchResult;
  // Same statistic as the engines: the median step.
  out.samples_per_s = (o.batch * 1000) / median(out.step_ms);
  return out;
}

/** Measure every engine of `o` and PyTorch (first and last), each in a fresh process, one at a time. */
export function measure(o: BenchOptions, log: (line: string) => void = () => {}): BenchReport {
  const report: BenchReport = { options: o, started: new Date().toISOString(), loadAverage: os.loadavg()[0], results: [], torch: [] };
  if (o.torch) {
    log('PyTorch ...');
    report.torch.push(runTorch(o));
  }
  for (const engine of o.engines) {
    const cpu = engine === 'cpu';
    log(`${engine} ...`);
    const args = ['--child', engine, '--model', o.model, '--batch', String(cpu ? o.cpuBatch : o.batch), '--steps', String(cpu ? 0 : o.steps), '--warmup', cpu ? '0' : String(o.warmup), '--threads', String(o.threads)];
    report.results.push(JSON.parse(runChild(args)) as EngineResult);
  }
  if (o.torch) {
    log('PyTorch again ...');
    report.torch.push(runTorch(o));
  }
  return report;
}

/**
 * Why the toolkit's and PyTorch's models are not the same architecture, or undefined when their
 * parameter tensors have the same element counts (compared as multisets: the layouts differ,
 * HWIO against OIHW, but every tensor's size is the same).
 */
export function parameterMismatch(report: BenchReport): string | undefined {
  const ours = report.results[0];
  const theirs = report.torch[0];
  if (!ours || !theirs) return undefined;
  const counts = new Map<number, number>();
  for (const n of ours.paramSizes) counts.set(n, (counts.get(n) ?? 0) + 1);
  for (const n of theirs.param_sizes) counts.set(n, (counts.get(n) ?? 0) - 1);
  const onlyOurs = [...counts].filter(([, c]) => c > 0).map(([n, c]) => `${n} x${c}`);
  const onlyTheirs = [...counts].filter(([, c]) => c < 0).map(([n, c]) => `${n} x${-c}`);
  if (ours.params === theirs.params && !onlyOurs.length && !onlyTheirs.length) return undefined;
  const script = path.relative(process.cwd(), BENCH_MODELS[report.options.model].torchScript);
  return (
    `${report.options.model}: the toolkit's model has ${ours.params.toLocaleString('en-US')} parameters in ${ours.paramSizes.length} tensors, ` +
    `${script} ${theirs.params.toLocaleString('en-US')} in ${theirs.param_sizes.length}; expected the same architecture on both sides. ` +
    `Tensor sizes only in the toolkit's: [${onlyOurs.join(', ')}]; only in PyTorch's: [${onlyTheirs.join(', ')}]`
  );
}

/** Debian's reference BLAS (libblas3, under .../blas/): matrix products an order of magnitude slower than OpenBLAS. */
export function isReferenceBlas(blas: string | null | undefined): boolean {
  return !!blas && /\/blas\/libblas\.so/.test(blas);
}

/** The markdown tables: one row per engine and PyTorch run, the parameter counts and step times, each engine's profile. */
export function formatReport(report: BenchReport): string {
  const { options: o, results, torch } = report;
  const torchRate = torch.length ? median(torch.map((t) => t.samples_per_s)) : undefined;
  const cpuRate = results.find((r) => r.engine === 'cpu')?.samplesPerS;
  const lines: string[] = [];
  lines.push(`${BENCH_MODELS[o.model].title}, SGD (momentum 0.9, weight decay 5e-4), 10 classes`);
  lines.push(`Run ${report.started}, ${os.cpus()[0]?.model ?? 'cpu'} x${os.availableParallelism()}, Node ${process.version}, threads ${o.threads}, load average at start ${report.loadAverage.toFixed(2)}, at end ${os.loadavg()[0].toFixed(2)}`);
  lines.push('');
  lines.push('| engine | batch | step (median) | samples/s | vs cpu backend | vs PyTorch |');
  lines.push('|---|---:|---:|---:|---:|---:|');
  for (const r of results) {
    const ms = median(r.stepMs);
    lines.push(`| ${r.engine} | ${r.batch} | ${(ms / 1000).toFixed(2)} s | ${r.samplesPerS.toFixed(r.samplesPerS < 1 ? 3 : 1)} | ${cpuRate ? (r.samplesPerS / cpuRate).toFixed(1) + 'x' : ''} | ${torchRate ? (r.samplesPerS / torchRate).toFixed(2) + 'x' : ''} |`);
  }
  for (const [i, t] of torch.entries()) {
    lines.push(`| PyTorch ${t.torch} CPU (${i === 0 ? 'first' : 'last'}) | ${o.batch} | ${(median(t.step_ms) / 1000).toFixed(2)} s | ${t.samples_per_s.toFixed(1)} | ${cpuRate ? (t.samples_per_s / cpuRate).toFixed(1) + 'x' : ''} | |`);
  }
  lines.push('');
  lines.push(`Parameters: toolkit ${results[0]?.params.toLocaleString('en-US')}${torch[0] ? `, PyTorch ${torch[0].params.toLocaleString('en-US')}` : ''}. Step times (ms): ${results.map((r) => `${r.engine} [${r.stepMs.map((x) => x.toFixed(0)).join(', ')}]`).join('; ')}${torch.length ? `; PyTorch [${torch.map((t) => t.step_ms.map((x) => x.toFixed(0)).join(', ')).join(' | ')}]` : ''}.`);
  const blas = torch[0]?.blas;
  if (torch.length) lines.push('', `PyTorch's BLAS: ${blas ?? 'unknown'}.`);
  lines.push(
    '',
    `glibc malloc: the engines with the tunables \`cvw\` runs them with (${MALLOC_TUNABLES_VALUE}); PyTorch ${o.torchMalloc === 'tuned' ? 'with the same' : "with glibc's defaults (--torch-default-malloc)"}.`,
  );
  if (BENCH_MODELS[o.model].matrixProducts && isReferenceBlas(blas)) {
    lines.push(
      '',
      "**Not a valid comparison:** this model is mostly matrix products, and PyTorch's Linear and bmm ran on Debian's reference BLAS (libblas3), " +
        'about 10x slower than OpenBLAS (its convolutions run on oneDNN and are not affected). Install libopenblas0-pthread, or run with ' +
        'LD_LIBRARY_PATH set to the openblas-pthread directory of its unpacked .deb, and measure again.',
    );
  }
  for (const r of results) {
    if (!r.profile) continue;
    lines.push('', `Per-kernel profile, ${r.engine}, batch ${r.batch} (one step under tf.profile):`, '', formatProfile(r.profile, 15));
  }
  return lines.join('\n') + '\n';
}

/** The command line: options from argv (`defaults` where absent), the report on stdout, progress on stderr. */
export async function runBenchmark(defaults: { model?: BenchModelName; engines: string }): Promise<void> {
  const model = arg('model', defaults.model ?? '');
  if (!model) throw new Error(`--model is required: one of ${Object.keys(BENCH_MODELS).join(', ')}`);
  benchModel(model);
  const options: BenchOptions = {
    model: model as BenchModelName,
    engines: arg('engines', defaults.engines).split(','),
    batch: Number(arg('batch', '64')),
    steps: Number(arg('steps', '3')),
    warmup: Number(arg('warmup', '1')),
    cpuBatch: Number(arg('cpu-batch', '1')),
    threads: Number(arg('threads', String(os.availableParallelism()))),
    torch: !process.argv.includes('--no-torch'),
    torchMalloc: process.argv.includes('--torch-default-malloc') ? 'default' : 'tuned',
  };
  const report = measure(options, (s) => process.stderr.write(s + '\n'));
  process.stdout.write(formatReport(report));
  const mismatch = parameterMismatch(report);
  if (mismatch) throw new Error(mismatch);
}

if (require.main === module) {
  const run = process.argv.includes('--child')
    ? child(arg('child', 'wasm-ort') as EngineConfig['backend'], arg('model', 'resnet18'), Number(arg('batch', '64')), Number(arg('steps', '3')), Number(arg('threads', '0')), Number(arg('warmup', '1')))
    : runBenchmark({ engines: 'wasm-ort' });
  run.catch((err) => {
    process.stderr.write(String(err?.stack ?? err) + '\n');
    process.exit(1);
  });
}
