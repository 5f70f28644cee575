/**
 * The registered pipeline steps, and running a list of them over one view of a sample.
 * Importing this module registers every built-in step (decoding workers import only this).
 */
import './geometric';
import './color';
import './blur';
import './tensor';
import './erasing';
import './randAugment';
import './autoAugment';
import './augMix';
import './trivialAugment';
import './detection';
import { build } from '../../core/registry';
import type { ComponentConfig } from '../../core/schema';
import type { Random } from '../../core/random';
import type { PipelineStep, ViewState } from './step';

export type { PipelineStep, ViewState } from './step';

export function buildPipeline(configs: ComponentConfig[]): PipelineStep[] {
  return configs.map((cfg) => build<PipelineStep>('pipeline', cfg));
}

/** Run the steps in order over `state`, drawing every random choice from `rng`. */
export function runPipeline(steps: PipelineStep[], state: ViewState, rng: Random): ViewState {
  for (const step of steps) step.apply(state, rng);
  return state;
}

/** Channels after the steps, for `channels` in. */
export function pipelineChannels(steps: PipelineStep[], channels: number): number {
  return steps.reduce((c, s) => (s.outChannels ? s.outChannels(c) : c), channels);
}
