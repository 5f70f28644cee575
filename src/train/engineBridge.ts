/** Start the engine the config asks for and describe it for the top of the run's log. */
import type { EngineConfig } from '../engine/configSection';

export interface EngineStart {
  backend: string;
  engine?: string;
  reason: string;
  summary: string;
}

export async function startEngine(cfg: EngineConfig): Promise<EngineStart> {
  let engine: { initEngine?(c: Partial<EngineConfig>): Promise<EngineStart> } = {};
  try {
    engine = require('../engine');
  } catch {
    // TEMPORARY until src/engine/index.ts lands.
  }
  if (engine.initEngine) return engine.initEngine(cfg);
  const tf = require('@tensorflow/tfjs-core') as typeof import('@tensorflow/tfjs-core');
  require('../engine/gradients').ensureGradients();
  require('@tensorflow/tfjs-backend-wasm');
  require('@tensorflow/tfjs-backend-cpu');
  const k = require('../engine/kernels');
  (k.registerWasmTrainingKernels ?? k.registerTrainingKernels ?? (() => undefined))();
  const backend = cfg.backend === 'cpu' ? 'cpu' : 'wasm';
  await tf.setBackend(backend);
  return { backend, reason: 'temporary bridge', summary: backend };
}
