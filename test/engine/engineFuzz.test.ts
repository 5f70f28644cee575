/**
 * The engines' differential fuzz (engineFuzz.ts) on a fixed set of seeds: every op a training step
 * relies on, value and gradients, on every engine, against the cpu backend. More seeds on demand:
 * `npm run fuzz:engine -- --seeds 1000`.
 */
import { describe, expect, it } from 'vitest';
import { initEngine } from '../../src/engine';
import { installKernels, SAME_PADDING_WORKAROUNDS, uninstallKernels } from '../../src/engine/kernels';
import { checkOnEngine, CPU_FUZZ_ENGINES, FUZZ_OPS, prepare, reproLine, runFuzz } from './engineFuzz';

/** 30 cases per op and engine: about ten seconds each. */
const CI_SEEDS = Array.from({ length: 30 * FUZZ_OPS.length }, (_, i) => i);

describe('engine fuzz: fixed seeds', () => {
  for (const engine of CPU_FUZZ_ENGINES) {
    it(`${engine}: ${CI_SEEDS.length} random cases match the cpu backend`, async () => {
      const summary = await runFuzz({ engines: [engine], seeds: CI_SEEDS });
      expect(summary.failures.map(reproLine)).toEqual([]);
      expect(summary.cases).toBe(CI_SEEDS.length);
      for (const op of FUZZ_OPS) expect(summary.perOp[op], op).toBe(30);
    });
  }
});

describe('engine fuzz: it finds a wrong kernel', () => {
  it('without the explicit-padding kernels, wasm depthwise convolutions fail, each failure a one-line reproduction', async () => {
    await initEngine({ backend: 'wasm' });
    const lines: string[] = [];
    uninstallKernels(SAME_PADDING_WORKAROUNDS);
    try {
      // runFuzz restarts the engine (initEngine reinstalls the kernels): one case at a time, until
      // three seeds have drawn a non-square kernel at stride 2-3 under 'same'.
      for (let seed = 0; seed < 400 && lines.length < 3; seed++) {
        const c = { op: 'depthwiseConv2d', seed };
        const p = prepare(c);
        const problems = await checkOnEngine('wasm', 'wasm', p, seed);
        if (problems.length) lines.push(reproLine({ ...c, engine: 'wasm', desc: p.desc, problem: problems.join('; ') }));
      }
    } finally {
      installKernels(SAME_PADDING_WORKAROUNDS);
    }
    expect(lines.length, lines.join('\n')).toBe(3);
    expect(lines[0]).toMatch(/^wasm depthwiseConv2d x=\[.*\] filter=\[.*\] stride=\[.*\] dilation=\[.*\] pad=.* seed=\d+: output 0: max \|diff\| .* — npm run fuzz:engine -- --engines wasm --ops depthwiseConv2d --seed \d+$/);
  });
});
