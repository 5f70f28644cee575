/**
 * tfjs' WebGPU backend when it is part of a bundle. In the npm package (tsc's dist/) this stays
 * undefined and webgpu.ts loads `@tensorflow/tfjs-backend-webgpu` from node_modules, where Node
 * resolves its `@tensorflow/tfjs-core` to the one this package uses. The bundled CLI
 * (scripts/bundles.mjs) replaces this module with one that requires the backend inside the bundle:
 * a copy loaded from outside would register itself into another tfjs-core than the bundle's.
 */
export interface BundledTfjsWebgpu {
  version: string;
  /** The backend's module, evaluated on first call (not when the CLI starts). */
  load(): unknown;
}

export const bundledTfjsWebgpu: BundledTfjsWebgpu | undefined = undefined;
