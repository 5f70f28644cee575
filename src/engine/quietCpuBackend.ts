import * as tf from '@tensorflow/tfjs-core';

/**
 * Stop tfjs' cpu backend greeting Node users (once, on stderr) with advice to install tfjs-node:
 * training's engine line already says what runs and why, and the commands that only read
 * weights on it (export, `weights export`, predict of a TF.js folder) have nothing to advise.
 */
export function quietCpuBackend(): void {
  const cpu = tf.findBackend('cpu') as unknown as { firstUse?: boolean } | null;
  if (cpu) cpu.firstUse = false;
}
