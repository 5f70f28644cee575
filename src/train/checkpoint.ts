/**
 * Checkpoints in the safetensors format (src/weights/safetensors.ts): the weights as tensors, the
 * run's state as JSON in `__metadata__.cvw`. Simple, safe to read (no code), and readable from
 * Python (`safetensors.numpy.load_file`).
 *
 * Files are written atomically (src/rundir/atomic.ts): a reader never sees half a checkpoint, and a
 * crash mid-write leaves the previous one intact. What the trainer puts in the metadata is
 * src/rundir/checkpointMeta.ts.
 */
import * as fs from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../core/problems';
import { writeAtomic } from '../rundir/atomic';
import { encodeSafetensors, looksLikeSafetensors, readSafetensors, readSafetensorsHeader, type TensorBytes } from '../weights/safetensors';
import { openRegularFile } from '../core/boundedRead';
import { toTfTensor, toTfTensors } from '../weights/toTf';
import type { WeightTensor } from '../weights/tensor';
import { isZip } from '../weights/zip';

export interface CheckpointData {
  tensors: Map<string, tf.Tensor>;
  /** Free-form JSON-serialisable state: epoch, iteration, random state, hook state, ... */
  meta: Record<string, unknown>;
  /** Foreign weights (torchvision, timm, ...): the file's name of each tensor, for messages. */
  sources?: Map<string, string>;
}

const DTYPES: Record<string, 'F32' | 'I32'> = { float32: 'F32', int32: 'I32', bool: 'I32' };

/** Write `data` to `file` atomically (temp + fsync + rename). Tensors are read synchronously. */
export function saveCheckpoint(file: string, tensors: Map<string, tf.Tensor>, meta: Record<string, unknown>): void {
  const parts: Array<[string, TensorBytes]> = [];
  for (const [name, t] of tensors) {
    const dtype = DTYPES[t.dtype];
    if (!dtype) throw new Error(`checkpoint: tensor "${name}" has dtype ${t.dtype}, which checkpoints do not store`);
    const values = t.dtype === 'float32' ? (t.dataSync() as Float32Array) : Int32Array.from(t.dataSync() as Int32Array);
    parts.push([name, { dtype, shape: t.shape, bytes: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) }]);
  }
  writeAtomic(file, encodeSafetensors(parts, { format: 'cvw', cvw: JSON.stringify(meta) }));
}

/**
 * Read a checkpoint; a truncated or foreign file gets an error naming it and what is wrong.
 * torchvision/timm weights (safetensors or `.pth`) of a backbone the toolkit maps are converted to
 * the toolkit's names (`model.backbone.*`, `model.head.fc.*`) and layouts, so `load_from` takes them.
 */
export function loadCheckpoint(file: string): CheckpointData {
  // Its first bytes say which reader reads it whole; a regular file only (a FIFO would block).
  const head = Buffer.alloc(9);
  const { fd } = openRegularFile(file, 'checkpoint');
  try {
    fs.readSync(fd, head, 0, 9, 0);
  } finally {
    fs.closeSync(fd);
  }
  // A torch.save archive (zip) or legacy pickle: PyTorch weights.
  if (!looksLikeSafetensors(head) && (isZip(head) || head[0] === 0x80)) return foreignCheckpoint(file);
  const { tensors, metadata } = readSafetensors(file);
  if (metadata.format !== 'cvw') {
    const foreign = foreignCheckpoint(file, tensors);
    if (foreign.tensors.size) return foreign;
  }
  return { tensors: toTfTensors(tensors), meta: checkpointMeta(file, metadata) };
}

/** Foreign weights under `model.` when a name map recognises them (none otherwise). */
function foreignCheckpoint(file: string, tensors?: Map<string, WeightTensor>): CheckpointData {
  // Loaded when needed: the maps import the model definitions, which import this module's users.
  const { readWeights } = require('../weights/read') as typeof import('../weights/read');
  const { detectArchitecture } = require('../weights/maps') as typeof import('../weights/maps');
  const { convertToToolkit } = require('../weights/convert') as typeof import('../weights/convert');
  const w = tensors ?? readWeights(file).tensors;
  const found = detectArchitecture(w);
  const out = new Map<string, tf.Tensor>();
  if (!found) {
    if (!tensors) throw new UserError(`${file}: not a checkpoint of this toolkit, and its tensors fit no known backbone (\`cvw weights inspect ${file}\` lists them)`);
    return { tensors: out, meta: {} };
  }
  if (found.detected.unsupported) throw new UserError(`${file}: holds ${found.detected.variant}: ${found.detected.unsupported}`);
  const converted = convertToToolkit(w, found.map);
  const sources = new Map<string, string>();
  for (const [k, t] of converted.tensors) {
    out.set(`model.${k}`, toTfTensor(t));
    sources.set(`model.${k}`, converted.source.get(k) ?? k);
  }
  return { tensors: out, meta: {}, sources };
}

/** The toolkit's own state in a checkpoint's metadata (empty for a foreign safetensors file). */
export function checkpointMeta(file: string, metadata: Record<string, string>): Record<string, unknown> {
  if (!metadata.cvw) return {};
  try {
    return JSON.parse(metadata.cvw) as Record<string, unknown>;
  } catch (e) {
    throw new UserError(`${file}: __metadata__.cvw is not valid JSON (${(e as Error).message})`);
  }
}

/** The metadata of a checkpoint without reading its tensors. */
export function readCheckpointMeta(file: string): Record<string, unknown> {
  return checkpointMeta(file, readSafetensorsHeader(file).metadata);
}

/** Dispose every tensor of a loaded checkpoint. */
export function disposeCheckpoint(data: CheckpointData): void {
  for (const t of data.tensors.values()) t.dispose();
}

/** Tensors under `prefix.` with the prefix removed (e.g. `model.` for the weights). */
export function withPrefix(tensors: Map<string, tf.Tensor>, prefix: string): Map<string, tf.Tensor> {
  const out = new Map<string, tf.Tensor>();
  for (const [k, v] of tensors) if (k.startsWith(prefix)) out.set(k.slice(prefix.length), v);
  return out;
}
