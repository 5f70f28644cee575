/**
 * Installing kernels over a backend's own, and taking them out again. Installs stack: each kernel
 * remembers the registration it replaced, which serves as its fallback (`kernelBelow`).
 */
import { getKernel, registerKernel, unregisterKernel, type KernelConfig } from '@tensorflow/tfjs-core';

/** For each installed config, the registration it replaced (null: none), to put back later. */
const previousOf = new Map<KernelConfig, KernelConfig | null>();
/** The backends' own registrations, before anything here replaced them. */
const originals = new Map<string, KernelConfig>();

/**
 * Register `configs`, replacing (and remembering) whatever was registered under the same names.
 * Installs stack: uninstalling the latest puts back the one before it.
 */
export function installKernels(configs: readonly KernelConfig[]): void {
  for (const config of configs) {
    const current = getKernel(config.kernelName, config.backendName) ?? null;
    if (current === config) continue;
    previousOf.set(config, current);
    const k = `${config.backendName}_${config.kernelName}`;
    if (current && !originals.has(k) && ![...previousOf.keys()].includes(current)) originals.set(k, current);
    if (current) unregisterKernel(config.kernelName, config.backendName);
    registerKernel(config);
  }
}

/** Put back what `installKernels` replaced for these configs (or remove them if nothing was there). */
export function uninstallKernels(configs: readonly KernelConfig[]): void {
  for (const config of configs) {
    if (getKernel(config.kernelName, config.backendName) !== config) continue;
    unregisterKernel(config.kernelName, config.backendName);
    const previous = previousOf.get(config);
    previousOf.delete(config);
    if (previous) registerKernel(previous);
  }
}

/** The registration `config` replaced when it was installed: its fallback for inputs it does not cover. */
export function kernelBelow(config: KernelConfig): KernelConfig | undefined {
  return previousOf.get(config) ?? originals.get(`${config.backendName}_${config.kernelName}`);
}

/** The backend's own registration of a kernel that `installKernels` replaced, if any. */
export function originalKernel(kernelName: string, backendName: string): KernelConfig | undefined {
  return originals.get(`${backendName}_${kernelName}`);
}

