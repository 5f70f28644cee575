/**
 * What `cvw data inspect` reports about a source: the number of items, the items per class, the
 * image sizes, boxes per class for detection sources, and with `check` every item decoded and
 * the bad ones listed.
 */
import { decodeFailure, decodeImage, loadSharp, openImage } from './decode';
import { describeItemError, DataError } from './errors';
import type { DataSource, ImageRef, SourceItem } from './types';

export interface InspectReport {
  items: number;
  classes?: Array<{ label: number; name: string; count: number }>;
  unlabelled: number;
  sizes: Array<{ width: number; height: number; count: number }>;
  /** How many items the sizes come from (all with `check` or for raw-pixel sources, else a sample). */
  sized: number;
  channels: number;
  boxes?: { total: number; perClass: number[] };
  /** Present with `check`: how many items were decoded, and the bad ones. */
  checked?: number;
  bad: Array<{ where: string; reason: string }>;
}

export interface InspectOptions {
  /** Decode every item. */
  check?: boolean;
  /** Without `check`: how many encoded images to read the size of (spread over the source). */
  sizeSample?: number;
  progress?(done: number, total: number): void;
}

async function headerSize(ref: ImageRef): Promise<{ width: number; height: number }> {
  if (ref.kind === 'pixels') return ref;
  const input = ref.kind === 'file' ? ref.path : ref.bytes;
  let meta: { width?: number; height?: number };
  try {
    meta = await openImage(input).metadata();
  } catch (err) {
    throw new Error(await decodeFailure(input, err as Error));
  }
  if (!(meta.width! >= 1 && meta.height! >= 1)) throw new Error(`empty image: ${meta.width ?? 0}x${meta.height ?? 0} pixels`);
  return { width: meta.width!, height: meta.height! };
}

export async function inspectSource(source: DataSource, opts: InspectOptions = {}): Promise<InspectReport> {
  const n = source.length;
  const counts = new Map<number, number>();
  const sizes = new Map<string, number>();
  const bad: InspectReport['bad'] = [];
  const numClasses = source.classes?.length;
  let unlabelled = 0;
  let sized = 0;
  let boxes: InspectReport['boxes'];
  const sample = opts.sizeSample ?? 200;
  const sizeEvery = Math.max(1, Math.floor(n / sample));
  const addSize = (w: number, h: number) => {
    const k = `${w}x${h}`;
    sizes.set(k, (sizes.get(k) ?? 0) + 1);
    sized++;
  };
  // Decoding runs a few items at a time: sharp works on its own threads meanwhile.
  const inFlight = new Set<Promise<void>>();
  const limit = opts.check ? 8 : 4;
  for (let i = 0; i < n; i++) {
    let item: SourceItem;
    try {
      item = await source.item(i);
    } catch (err) {
      if (!(err instanceof DataError)) throw err;
      bad.push(describeItemError(err, `item ${i}`));
      continue;
    }
    if (item.label === undefined) unlabelled++;
    else {
      counts.set(item.label, (counts.get(item.label) ?? 0) + 1);
      if (numClasses !== undefined && (item.label < 0 || item.label >= numClasses)) bad.push({ where: item.where, reason: `label ${item.label} out of range: expected 0 to ${numClasses - 1}` });
    }
    if (item.boxes) {
      boxes ??= { total: 0, perClass: new Array(numClasses ?? 0).fill(0) };
      for (const b of item.boxes) {
        boxes.total++;
        boxes.perClass[b.label] = (boxes.perClass[b.label] ?? 0) + 1;
      }
    }
    const ref = item.image;
    // No sharp stops here, once and by name (NativeModuleError), before any image is blamed for it.
    if (ref.kind !== 'pixels' && (opts.check || i % sizeEvery === 0)) loadSharp();
    let task: Promise<void> | undefined;
    if (opts.check) {
      task = decodeImage(ref, source.channels, item.where).then(
        (img) => addSize(img.width, img.height),
        (err) => void bad.push(describeItemError(err, item.where)),
      );
    } else if (ref.kind === 'pixels') addSize(ref.width, ref.height);
    else if (i % sizeEvery === 0) {
      task = headerSize(ref).then(
        (s) => addSize(s.width, s.height),
        (err) => void bad.push({ where: item.where, reason: `cannot read the image header: ${(err as Error).message.replace(/^Input (file|buffer) /, '')}` }),
      );
    }
    if (task) {
      const t: Promise<void> = task.finally(() => inFlight.delete(t));
      inFlight.add(t);
      if (inFlight.size >= limit) await Promise.race(inFlight);
    }
    if (opts.progress && (i % 256 === 0 || i === n - 1)) opts.progress(i + 1, n);
  }
  await Promise.all(inFlight);
  const classes = source.classes
    ? source.classes.map((name, label) => ({ label, name, count: counts.get(label) ?? 0 }))
    : counts.size
      ? [...counts.keys()].sort((a, b) => a - b).map((label) => ({ label, name: String(label), count: counts.get(label)! }))
      : undefined;
  return {
    items: n,
    classes,
    unlabelled,
    sizes: [...sizes].map(([k, count]) => ({ width: Number(k.split('x')[0]), height: Number(k.split('x')[1]), count })).sort((a, b) => b.count - a.count),
    sized,
    channels: source.channels,
    boxes,
    checked: opts.check ? n : undefined,
    bad,
  };
}
