/**
 * `model.pretrained`: backbone weights loaded when a run starts, before any other hook sees the
 * model (EMA copies it at beforeRun), and only on a fresh start: a resumed run has its own weights,
 * and `load_from` (applied when the run is set up) takes precedence, as in mmengine.
 */
import { PRIORITY, type Hook, type RunnerApi } from '../train/hook';
import type { Module } from '../models/nn/module';
import { UserError } from '../core/problems';
import { describeLoad } from './convert';
import { errorAtConfigKey } from './located';
import { loadPretrainedBackbone } from './pretrained';

export class PretrainedHook implements Hook {
  readonly name = 'PretrainedHook';
  readonly priority = PRIORITY.highest;

  constructor(
    private readonly backbone: Module,
    private readonly type: string,
    private readonly file: string,
    private readonly key?: string,
  ) {}

  beforeRun(r: RunnerApi): void {
    if (r.iter > 0) return;
    if (r.config.load_from) {
      r.log(`model.pretrained (${this.file}) not loaded: load_from initialises the whole model`);
      return;
    }
    let report;
    try {
      report = loadPretrainedBackbone(this.backbone, this.type, this.file, 'model.pretrained', this.key);
    } catch (e) {
      // A missing file, one of another architecture, a shape that does not fit: at the config's pretrained key.
      throw e instanceof UserError ? errorAtConfigKey(r, 'model.pretrained', e.message, e) : e;
    }
    r.log(`model.pretrained: ${describeLoad(this.key ? `${this.file} (${this.key})` : this.file, report)}`);
  }
}
