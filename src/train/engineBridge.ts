/** Start the engine the config asks for and describe it for the top of the run's log. */
import type { EngineConfig } from '../engine/configSection';

export interface EngineStart {
  backend: string;
  engine?: string;
  reason: string;
  summary: string;
}

export async function startEngine(cfg: EngineConfig): Promise<EngineStart> {
  const { initEngine } = require('../engine') as { initEngine(c: Partial<EngineConfig>): Promise<EngineStart> };
  return initEngine(cfg);
}
