/**
 * Evaluation during training: each pipeline of `eval_pipelines` runs every `interval` epochs and
 * at the end; its metrics go to metrics.jsonl (split = the pipeline's name) and to every hook's
 * afterEval (the checkpoint hook keeps the best).
 */
import { PRIORITY, type Hook, type RunnerApi } from '../hook';
import type { TrainLoader } from '../dataBridge';
import type { Evaluator } from '../../eval/evaluator';
import { collectPredictions } from '../../eval/predict';
import { formatNumber } from '../progress';
import { RUN_FILES } from '../../rundir';

export interface EvalPipelineRuntime {
  name: string;
  loader: TrainLoader;
  evaluators: Evaluator[];
  interval: number;
}

export class EvalHook implements Hook {
  readonly name = 'EvalHook';
  readonly priority = PRIORITY.normal;
  lastMetrics: Record<string, number> = {};

  constructor(
    private readonly pipelines: EvalPipelineRuntime[],
    private readonly allHooks: () => Hook[],
  ) {}

  async afterEpoch(r: RunnerApi & { readonly finalEpoch: boolean }): Promise<void> {
    const due = this.pipelines.filter((p) => (r.epoch + 1) % p.interval === 0 || r.finalEpoch);
    if (due.length) await this.evaluate(r, due);
  }

  async evaluate(r: RunnerApi, pipelines = this.pipelines): Promise<Record<string, number>> {
    const hooks = this.allHooks();
    for (const h of hooks) h.beforeEval?.(r);
    const metrics: Record<string, number> = {};
    try {
      for (const p of pipelines) {
        const needs = new Set(p.evaluators.flatMap((e) => e.needs));
        const started = Date.now();
        const predictions = await collectPredictions(r.model, p.loader, needs);
        const values: Record<string, number> = {};
        for (const e of p.evaluators) Object.assign(values, e.evaluate(predictions, { name: p.name, outDir: r.runDir.file(RUN_FILES.eval) }));
        r.writeMetrics({ split: p.name, ...values, eval_time: (Date.now() - started) / 1000 });
        r.log(`eval ${p.name} (epoch ${r.epoch + 1}, ${predictions.count} samples): ${Object.entries(values).map(([k, v]) => `${k} ${formatNumber(v)}`).join(', ')}`);
        for (const [k, v] of Object.entries(values)) metrics[`${p.name}/${k}`] = v;
      }
    } finally {
      for (const h of [...hooks].reverse()) h.afterEval?.(r, metrics);
    }
    this.lastMetrics = { ...this.lastMetrics, ...metrics };
    return metrics;
  }
}
