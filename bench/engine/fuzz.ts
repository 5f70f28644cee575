/**
 * The engines' differential fuzz (test/engine/engineFuzz.ts) on demand, with as many seeds as asked:
 *
 *   npm run fuzz:engine -- [--seeds 1000] [--start 0] [--engines wasm,wasm-ort] [--ops conv2d,matMul] [--seed N]
 *
 * --seeds N runs seeds start..start+N-1 (one random case each, the ops taking turns) on every engine;
 * --seed N runs that one seed (the reproduction printed with a failure). Each failure is printed as
 * one line as it happens; the summary gives cases, mismatches and wall time per engine. Exit 1 on
 * any mismatch.
 */
import { FUZZ_ENGINES, FUZZ_OPS, reproLine, runFuzz, type FuzzEngine } from '../../test/engine/engineFuzz';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function list(name: string, all: readonly string[]): string[] {
  const value = arg(name);
  if (value === undefined) return [...all];
  const items = value.split(',').filter(Boolean);
  const unknown = items.filter((x) => !all.includes(x));
  if (unknown.length) throw new Error(`--${name}: unknown ${unknown.join(', ')}; expected some of ${all.join(', ')}`);
  return items;
}

async function main(): Promise<void> {
  const engines = list('engines', FUZZ_ENGINES) as FuzzEngine[];
  const ops = list('ops', FUZZ_OPS);
  const one = arg('seed');
  const start = Number(arg('start') ?? 0);
  const count = Number(arg('seeds') ?? 100);
  const seeds = one !== undefined ? [Number(one)] : Array.from({ length: count }, (_, i) => start + i);
  if (seeds.some((s) => !Number.isInteger(s) || s < 0)) throw new Error('--seed, --start and --seeds take non-negative integers');
  let failed = 0;
  for (const engine of engines) {
    const t0 = performance.now();
    const summary = await runFuzz({ engines: [engine], seeds, ops, finiteDifferences: process.argv.includes('--finite-differences'), onFailure: (f) => console.log(`FAIL ${reproLine(f)}`) });
    const seconds = (performance.now() - t0) / 1000;
    failed += summary.failures.length;
    const perOp = Object.entries(summary.perOp)
      .map(([op, n]) => `${op} ${n}`)
      .join(', ');
    console.log(`${engine}: ${summary.cases} cases, ${summary.failures.length} mismatches, ${seconds.toFixed(1)} s (${perOp})`);
  }
  process.exitCode = failed ? 1 : 0;
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 2;
});
