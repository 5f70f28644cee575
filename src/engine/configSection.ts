/** The `engine` section of a config: which TensorFlow.js backend runs the model, and where. */
import { z } from 'zod';
import { registerConfigSection } from '../core/rootSchema';

export const BACKENDS = ['auto', 'tensorflow', 'webgpu', 'wasm-ort', 'wasm', 'cpu'] as const;
export const DEVICES = ['auto', 'gpu', 'cpu'] as const;
/** Threads any engine or session is given at most: each costs a stack and a share of the cores (100,000 ended in a segfault). */
export const MAX_THREADS = 256;

export const engineSchema = z
  .strictObject({
    backend: z.enum(BACKENDS).default('auto').describe('auto: tfjs-node-gpu if installed and a GPU is usable, then webgpu on a hardware GPU adapter (never a software one), then tfjs-node, then the fastest engine npm alone provides (wasm-ort), then the plain cpu backend. tensorflow: tfjs-node(-gpu); webgpu: tfjs\' WebGPU backend on Dawn (npm packages webgpu and @tensorflow/tfjs-backend-webgpu; uses a software adapter too, slowly); wasm-ort: the wasm backend with onnxruntime-node native CPU kernels; wasm: the wasm backend alone; cpu: plain JavaScript'),
    device: z.enum(DEVICES).default('auto').describe('gpu: a GPU engine (tfjs-node-gpu with CUDA, or webgpu on a hardware adapter) or an error saying what was found; cpu never uses a GPU'),
    threads: z.number().int().min(0).max(MAX_THREADS).default(0).describe('CPU threads for native kernels; 0 = one per core this process may use (a container\'s CPU quota counts)'),
  })
  .default({ backend: 'auto', device: 'auto', threads: 0 })
  .describe('The TensorFlow.js engine: backend and device');

export type EngineConfig = z.output<typeof engineSchema>;

registerConfigSection('engine', engineSchema, 10);
