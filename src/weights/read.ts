/**
 * Read a weights file whatever its format — safetensors (timm hub, Hugging Face, this toolkit's
 * checkpoints) or a `torch.save` archive — into a flat name -> tensor map. Training checkpoints
 * that wrap the weights (`{state_dict: ...}`, `{model: ...}`, `{model_ema: ...}`) are unwrapped,
 * and the `module.` prefix DataParallel adds is removed.
 */
import { UserError } from '../core/problems';
import { decodeSafetensors, looksLikeSafetensors } from './safetensors';
import { TorchTensor, readTorchArchive } from './torchFile';
import type { WeightTensor } from './tensor';
import { isZip } from './zip';
import { readRegularFile } from '../core/boundedRead';

/** Keys under which training scripts (timm, torchvision references, mmcv, DeiT, MAE) nest the weights, in order of preference. */
export const NESTED_KEYS = ['state_dict', 'model', 'module', 'model_ema', 'state_dict_ema', 'ema'];

export interface WeightsFile {
  file: string;
  format: 'safetensors' | 'torch';
  tensors: Map<string, WeightTensor>;
  /** safetensors `__metadata__` (empty for torch files). */
  metadata: Record<string, string>;
  /** The nested key the weights were taken from (`state_dict`), when there was one. */
  nestedKey?: string;
  /** `module.` when that prefix was removed from every name. */
  strippedPrefix?: string;
  /** Top-level entries that are not tensors (epoch, args, optimizer state), by name. */
  skipped: string[];
}

export interface ReadWeightsOptions {
  /**
   * Take the weights from this nested key instead of the first of `NESTED_KEYS`: dotted for deeper
   * ones, ending in a prefix of the names there if it goes on below the dicts
   * (`state_dict.module.encoder_q`); one not at the top level starts inside the state dict.
   */
  key?: string;
}

export function readWeights(file: string, options: ReadWeightsOptions = {}): WeightsFile {
  const buf = readRegularFile(file, { what: 'weights file' });
  let out: WeightsFile;
  // safetensors first: its 8-byte length may start with 0x80, a pickle's first byte.
  if (looksLikeSafetensors(buf)) {
    const { tensors, metadata } = decodeSafetensors(file, buf);
    out = { file, format: 'safetensors', tensors, metadata, skipped: [] };
    if (options.key) out.tensors = withKey(file, tensors, options.key);
  } else if (isZip(buf) || (buf.length >= 2 && buf[0] === 0x80)) out = readTorch(file, buf, options);
  else throw new UserError(`${file}: not a weights file (expected safetensors or a torch.save archive: .safetensors, .pth, .pt, .bin)`);
  return stripModulePrefix(out);
}

/** `key.` entries of a flat map, the prefix removed (safetensors has no nesting, only dotted names). */
function withKey(file: string, tensors: Map<string, WeightTensor>, key: string): Map<string, WeightTensor> {
  const out = withPrefix(tensors, key);
  if (!out.size) throw new UserError(`${file}: no tensors under "${key}."`);
  return out;
}

/** The tensors named `prefix.*`, the prefix removed; also under DataParallel's `module.` when that is where they are. */
function withPrefix(tensors: Map<string, WeightTensor>, prefix: string): Map<string, WeightTensor> {
  for (const p of prefix.startsWith('module.') ? [prefix] : [prefix, `module.${prefix}`]) {
    const out = new Map<string, WeightTensor>();
    for (const [k, v] of tensors) if (k.startsWith(`${p}.`)) out.set(k.slice(p.length + 1), v);
    if (out.size) return out;
  }
  return new Map();
}

function readTorch(file: string, buf: Buffer, options: ReadWeightsOptions): WeightsFile {
  const { object, tensor } = readTorchArchive(file, buf);
  if (object instanceof TorchTensor) return { file, format: 'torch', tensors: new Map([['', tensor(object)]]), metadata: {}, skipped: [] };
  if (!(object instanceof Map)) throw new UserError(`${file}: the pickle holds ${Array.isArray(object) ? 'a list' : typeof object}, not a state dict`);
  let dict = object as Map<unknown, unknown>;
  let nestedKey: string | undefined;
  // The part of --key below the nested dicts: a dotted prefix of the flat names there
  // (`module.encoder_q` of a MoCo checkpoint's state_dict), as with safetensors.
  let namePrefix: string | undefined;
  const autoNested = () => {
    const hasTensors = [...dict.values()].some((v) => v instanceof TorchTensor);
    const key = hasTensors ? undefined : NESTED_KEYS.find((k) => dict.get(k) instanceof Map);
    if (key) dict = dict.get(key) as Map<unknown, unknown>;
    return key;
  };
  if (options.key) {
    const parts = options.key.split('.');
    // A key that does not start at the top level starts inside the checkpoint's own state dict.
    const outer = dict.has(parts[0]) ? undefined : autoNested();
    let i = 0;
    for (; i < parts.length && dict.get(parts[i]) instanceof Map; i++) dict = dict.get(parts[i]) as Map<unknown, unknown>;
    if (i < parts.length) namePrefix = parts.slice(i).join('.');
    nestedKey = outer ? `${outer}.${options.key}` : options.key;
  } else nestedKey = autoNested();
  const tensors = new Map<string, WeightTensor>();
  const skipped: string[] = [];
  const seen = new Set<Map<unknown, unknown>>();
  const walk = (d: Map<unknown, unknown>, prefix: string) => {
    // A pickle can make a dict contain itself (through its memo): each dict is walked once.
    if (seen.has(d)) throw new UserError(`${file}: "${prefix.slice(0, -1)}" refers back to a dict that contains it; not a state dict`);
    seen.add(d);
    for (const [k, v] of d) {
      const name = `${prefix}${String(k)}`;
      if (v instanceof TorchTensor) tensors.set(name, tensor(v));
      else if (v instanceof Map) walk(v, `${name}.`);
      else skipped.push(name);
    }
  };
  walk(dict, '');
  const selected = namePrefix === undefined ? tensors : withPrefix(tensors, namePrefix);
  if (!selected.size) throw new UserError(`${file}: no tensors found${nestedKey ? ` under "${nestedKey}"` : ''} (top-level keys: ${[...object.keys()].map(String).slice(0, 20).join(', ')})`);
  return { file, format: 'torch', tensors: selected, metadata: {}, nestedKey, skipped };
}

function stripModulePrefix(w: WeightsFile): WeightsFile {
  const prefix = 'module.';
  const keys = [...w.tensors.keys()];
  if (!keys.length || !keys.every((k) => k.startsWith(prefix))) return w;
  w.tensors = new Map([...w.tensors].map(([k, v]) => [k.slice(prefix.length), v]));
  w.strippedPrefix = prefix;
  return w;
}
