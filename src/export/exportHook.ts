/**
 * ExportHook: when training finishes, export the best checkpoint (else the latest) into
 * `<run>/export/` — model.onnx and/or tfjs/ — so a finished run is ready to serve. A failed
 * export is logged and leaves the run finished: the checkpoints are what training produced.
 */
import * as path from 'node:path';
import { z } from 'zod';
import { register } from '../core/registry';
import { RUN_FILES } from '../rundir/files';
import { PRIORITY, type Hook, type RunnerApi, type RunStatus } from '../train/hook';
import { describeComparison, exportLoaded, type ExportFormat } from './exportModel';
import { loadModel, runCheckpoint, type ModelSource } from './source';

export const exportHookParams = z.strictObject({
  formats: z
    .array(z.enum(['onnx', 'tfjs']))
    .min(1)
    .default(['onnx'])
    .describe('Formats to write: onnx (export/model.onnx) and/or tfjs (export/tfjs/)'),
  layout: z.enum(['NCHW', 'NHWC']).default('NCHW').describe('Input layout of the ONNX model'),
  with_preprocess: z.boolean().default(false).describe('Put resize and normalisation in the graph (raw 0-255 pixels of any size in, stretched to the network\'s size: no centre crop)'),
  on_stop: z.boolean().default(false).describe('Also export when the run is stopped early (Ctrl+C), not only when it finishes'),
  verify: z.boolean().default(true).describe('Run each export once and compare it with the toolkit (logged)'),
});

export type ExportHookParams = z.output<typeof exportHookParams>;

export class ExportHook implements Hook {
  readonly name = 'ExportHook';
  readonly priority = PRIORITY.lowest;
  /** Files written by the last export (for tests and callers embedding the trainer). */
  written: string[] = [];

  constructor(readonly params: ExportHookParams) {}

  async afterRun(r: RunnerApi, status: RunStatus): Promise<void> {
    if (status !== 'finished' && !(status === 'stopped' && this.params.on_stop)) return;
    let checkpoint: string;
    try {
      checkpoint = runCheckpoint(r.runDir.dir);
    } catch (err) {
      r.log(`ExportHook: nothing to export (${(err as Error).message})`);
      return;
    }
    const source: ModelSource = {
      runDir: r.runDir.dir,
      checkpoint,
      config: r.config,
      configDir: path.dirname(r.runDir.runInfo.config),
      epoch: r.epoch,
      iter: r.iter,
    };
    for (const format of this.params.formats as ExportFormat[]) {
      const loaded = loadModel(source);
      try {
        const out = path.join(r.runDir.file(RUN_FILES.export), format === 'onnx' ? 'model.onnx' : 'tfjs');
        const result = await exportLoaded(loaded, { format, out, layout: this.params.layout, withPreprocess: this.params.with_preprocess, verify: this.params.verify });
        this.written.push(...result.files);
        const verified = result.verified ? `, verified: ${describeComparison(result.verified)}` : '';
        r.log(`exported ${path.basename(checkpoint)} (${loaded.weights === 'ema' ? 'EMA weights' : 'weights'}) to ${path.relative(r.runDir.dir, out)}${verified}`);
        for (const note of result.notes) r.log(`export note: ${note}`);
      } catch (err) {
        r.log(`ExportHook: ${format} export failed: ${(err as Error).message}`);
      } finally {
        loaded.model.dispose();
      }
    }
  }
}

register('hook', {
  type: 'ExportHook',
  description: 'Export the best checkpoint to ONNX and/or TF.js into <run>/export/ when training finishes',
  paper: 'EasyCV ExportHook',
  params: exportHookParams,
  build: (p) => new ExportHook(p),
});
