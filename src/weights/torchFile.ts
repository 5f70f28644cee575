/**
 * PyTorch's `torch.save` files (`.pth`, `.pt`, `.bin`, PyTorch 1.6 and later): a zip archive with
 * `<name>/data.pkl`, the pickled object, and `<name>/data/<key>`, the raw bytes of each storage.
 * The pickle is read by the restricted unpickler (src/weights/pickle.ts) with an allow-list of the
 * globals state dicts use: OrderedDict, the tensor/parameter rebuild functions and the storage
 * types, and the argparse.Namespace of training checkpoints as an inert value. The legacy format (a bare pickle stream, before 1.6) is refused with how to convert it.
 */
import { UserError } from '../core/problems';
import { unpickle, type PickleGlobal } from './pickle';
import { ITEM_SIZE, decodeValues, numel, type StoredDtype, type WeightTensor } from './tensor';
import { isZip, zipEntries, zipRead } from './zip';

const STORAGE_DTYPES: Record<string, StoredDtype> = {
  FloatStorage: 'F32',
  HalfStorage: 'F16',
  BFloat16Storage: 'BF16',
  DoubleStorage: 'F64',
  LongStorage: 'I64',
  IntStorage: 'I32',
  ShortStorage: 'I16',
  CharStorage: 'I8',
  ByteStorage: 'U8',
  BoolStorage: 'BOOL',
};

/** A storage named by a persistent id: its bytes are the archive's `data/<key>`. */
class StorageRef {
  constructor(
    readonly dtype: StoredDtype,
    readonly key: string,
    readonly numel: number,
  ) {}
}

/** A tensor as `_rebuild_tensor_v2` describes it: a strided view of a storage. */
export class TorchTensor {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
  ) {}
}

/**
 * A training script's arguments (`argparse.Namespace`), which the torchvision references, timm,
 * DeiT and MAE save beside the weights (`args`): an inert value, nothing of it is built or run;
 * its entry is reported as not a tensor.
 */
class ScriptArguments {}

const ints = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => Number.isSafeInteger(x) && x >= 0);

function rebuildTensor(file: string, args: unknown[]): TorchTensor {
  const [storage, offset, shape, stride] = args;
  if (!(storage instanceof StorageRef) || !Number.isSafeInteger(offset) || (offset as number) < 0 || !ints(shape) || !ints(stride) || shape.length !== stride.length) {
    throw new UserError(`${file}: a tensor in the pickle is not (storage, offset, size, stride)`);
  }
  return new TorchTensor(storage, offset as number, shape, stride);
}

function allowedGlobals(file: string): Map<string, PickleGlobal> {
  const g = new Map<string, PickleGlobal>();
  const add = (module: string, name: string, call?: (args: unknown[]) => unknown) => g.set(`${module}.${name}`, { module, name, call });
  add('collections', 'OrderedDict', () => new Map());
  add('torch._utils', '_rebuild_tensor_v2', (a) => rebuildTensor(file, a));
  add('torch._utils', '_rebuild_tensor', (a) => rebuildTensor(file, a));
  add('torch._utils', '_rebuild_parameter', (a) => a[0]);
  add('torch._utils', '_rebuild_parameter_with_state', (a) => a[0]);
  add('argparse', 'Namespace', () => new ScriptArguments());
  for (const name of Object.keys(STORAGE_DTYPES)) add('torch', name);
  return g;
}

const ZIP_HINT = 'expected a torch.save zip archive (PyTorch 1.6 or later), a safetensors file or a checkpoint of this toolkit';

/** The unpickled object of a `torch.save` file, with tensors as `TorchTensor`s; see `torchTensor`. */
export function readTorchArchive(file: string, buf: Buffer): { object: unknown; tensor: (t: TorchTensor) => WeightTensor } {
  if (!isZip(buf)) {
    if (buf.length >= 2 && buf[0] === 0x80) {
      throw new UserError(`${file}: a legacy torch.save file (before PyTorch 1.6), which is not read; in PyTorch run torch.save(torch.load(f), f2) to re-save it as a zip archive, or save it as safetensors`);
    }
    throw new UserError(`${file}: not a PyTorch checkpoint (${ZIP_HINT})`);
  }
  const entries = zipEntries(file, buf);
  const pkl = [...entries.keys()].filter((n) => n === 'data.pkl' || n.endsWith('/data.pkl')).sort((a, b) => a.length - b.length)[0];
  if (!pkl) throw new UserError(`${file}: a zip archive without data.pkl, so not a torch.save file (${ZIP_HINT})`);
  const root = pkl.slice(0, -'data.pkl'.length);
  const globals = allowedGlobals(file);
  const object = unpickle(file, zipRead(file, buf, entries.get(pkl)!), {
    resolve: (module, name) => globals.get(`${module}.${name}`),
    allowedDescription: "ordered dicts, tensors, plain values and a training script's argparse.Namespace",
    persistentLoad: (pid) => {
      const [kind, type, key, , count] = Array.isArray(pid) ? pid : [];
      const dtype = STORAGE_DTYPES[(type as PickleGlobal | undefined)?.name ?? ''];
      if (kind !== 'storage' || !dtype || typeof key !== 'string' || !Number.isSafeInteger(count)) {
        throw new UserError(`${file}: a persistent id in the pickle is not a storage of a known dtype (${JSON.stringify(pid, (_, v) => (typeof v === 'bigint' ? String(v) : v))?.slice(0, 80)})`);
      }
      return new StorageRef(dtype, key, count as number);
    },
  });

  const storages = new Map<string, Float32Array | Int32Array>();
  // What the storages hold and what the tensors read from them: a pickle is a few bytes per tensor,
  // so without a bound a small file could name one storage from thousands of tensors (each copied).
  let stored = 0;
  let read = 0;
  const storageValues = (s: StorageRef): Float32Array | Int32Array => {
    let v = storages.get(s.key);
    if (!v) {
      const name = `${root}data/${s.key}`;
      const entry = entries.get(name);
      if (!entry) throw new UserError(`${file}: storage "${s.key}" is missing (no ${name} in the archive; truncated?)`);
      const bytes = zipRead(file, buf, entry);
      if (bytes.length < s.numel * ITEM_SIZE[s.dtype]) throw new UserError(`${file}: storage ${name} has ${bytes.length} bytes, ${s.numel * ITEM_SIZE[s.dtype]} expected for ${s.numel} ${s.dtype} values`);
      v = decodeValues(bytes, s.dtype, s.numel);
      storages.set(s.key, v);
      stored += v.length;
    }
    return v;
  };
  const tensor = (t: TorchTensor): WeightTensor => {
    const src = storageValues(t.storage);
    const n = numel(t.shape);
    let last = t.offset;
    for (let d = 0; d < t.shape.length; d++) last += (t.shape[d] - 1) * t.stride[d];
    if (n > 0 && last >= src.length) throw new UserError(`${file}: a tensor of shape [${t.shape}] reads past its storage "${t.storage.key}" (${src.length} values)`);
    // More values than its storage: strides that overlap (zero strides of an expanded tensor), which
    // no parameter or buffer has; copying them would let 1 stored value declare a terabyte.
    if (n > src.length) throw new UserError(`${file}: a tensor of shape [${t.shape}] (${n} values) repeats the ${src.length} values of its storage "${t.storage.key}" (strides [${t.stride}]); a state dict's tensors never overlap`);
    // Tied weights name a storage twice; four times everything stored is far past any state dict.
    read += n;
    if (read > 4 * stored) throw new UserError(`${file}: the pickle's tensors read ${read} values from storages holding ${stored}: the same storage named over and over, not a state dict`);
    const values = src instanceof Float32Array ? new Float32Array(n) : new Int32Array(n);
    // Strided gather (contiguous tensors, nearly all of them, are one copy).
    const contiguous = t.shape.every((_, d) => t.stride[d] === numel(t.shape.slice(d + 1)) || t.shape[d] === 1);
    if (contiguous) values.set(src.subarray(t.offset, t.offset + n));
    else {
      const idx = new Array<number>(t.shape.length).fill(0);
      for (let i = 0; i < n; i++) {
        let at = t.offset;
        for (let d = 0; d < idx.length; d++) at += idx[d] * t.stride[d];
        values[i] = src[at];
        for (let d = idx.length - 1; d >= 0 && ++idx[d] === t.shape[d]; d--) idx[d] = 0;
      }
    }
    return { shape: t.shape, values, stored: t.storage.dtype };
  };
  return { object, tensor };
}
