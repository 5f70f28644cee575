/**
 * Downloading the standard data sets: resumable HTTP downloads (a `.part` file continued with a
 * Range request), SHA-256 verification, and copies from a local folder (`--from`, e.g. Debian's
 * /usr/share/datasets/fashion-mnist) verified the same way.
 *
 * A gzip file may also be accepted by the SHA-256 of its content: re-packaged copies (Debian
 * recompresses Fashion-MNIST) hold the same bytes in a different gzip stream.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { UserError } from '../core/problems';
import { extractTar } from './tar';
import { makeDirs } from '../core/makeDirs';

export interface RemoteFile {
  name: string;
  /** SHA-256 of the file as published. */
  sha256: string;
  /** SHA-256 of the decompressed content, for gzip files. */
  contentSha256?: string;
  size?: number;
}

export interface DatasetRecipe {
  name: string;
  description: string;
  /** Default destination, relative to the working directory (the source's default `root`). */
  dir: string;
  /** Base URLs tried in order; a file's URL is base + name. */
  mirrors: string[];
  files: RemoteFile[];
  /** Unpack this archive (tar.gz) into the destination after verification. */
  extract?: string;
  /** A file whose presence after unpacking means the data set is ready. */
  ready?: string;
  licence: string;
}

export const RECIPES: Record<string, DatasetRecipe> = {
  'fashion-mnist': {
    name: 'fashion-mnist',
    description: 'Fashion-MNIST (Xiao et al., arXiv:1708.07747): 60,000 + 10,000 28x28 grey images, 10 classes',
    dir: 'data/fashion-mnist',
    mirrors: ['https://fashion-mnist.s3.eu-central-1.amazonaws.com/', 'https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/'],
    files: [
      { name: 'train-images-idx3-ubyte.gz', size: 26421880, sha256: '3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84', contentSha256: 'c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888' },
      { name: 'train-labels-idx1-ubyte.gz', size: 29515, sha256: 'a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845', contentSha256: 'bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9' },
      { name: 't10k-images-idx3-ubyte.gz', size: 4422102, sha256: '346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073', contentSha256: '5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b' },
      { name: 't10k-labels-idx1-ubyte.gz', size: 5148, sha256: '67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5', contentSha256: '0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34' },
    ],
    licence: 'MIT, Copyright (c) 2017 Zalando SE',
  },
  cifar10: {
    name: 'cifar10',
    description: 'CIFAR-10 (Krizhevsky, 2009): 50,000 + 10,000 32x32 colour images, 10 classes (binary version)',
    dir: 'data/cifar10',
    mirrors: ['https://www.cs.toronto.edu/~kriz/'],
    files: [{ name: 'cifar-10-binary.tar.gz', size: 170052171, sha256: 'c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd' }],
    extract: 'cifar-10-binary.tar.gz',
    ready: 'cifar-10-batches-bin/test_batch.bin',
    licence: 'no licence stated; cite Krizhevsky, Learning Multiple Layers of Features from Tiny Images, 2009',
  },
};

export interface FetchEvents {
  /** Bytes of `file` received so far (and its size when known). */
  progress?(file: string, done: number, total: number | undefined): void;
  log?(line: string): void;
}

export function sha256File(file: string): string {
  const h = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    let n: number;
    while ((n = fs.readSync(fd, buf, 0, buf.length, null)) > 0) h.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

/** Whether `file` is the published file, or (for gzip) holds the published content. */
export function verifyFile(file: string, spec: RemoteFile): { ok: boolean; how: string; got: string } {
  const got = sha256File(file);
  if (got === spec.sha256) return { ok: true, how: 'SHA-256', got };
  if (spec.contentSha256) {
    try {
      const content = readContent(file);
      const c = createHash('sha256').update(content).digest('hex');
      if (c === spec.contentSha256) return { ok: true, how: 'SHA-256 of the decompressed content', got };
    } catch {
      // not gzip or damaged: the file checksum already failed
    }
  }
  return { ok: false, how: 'SHA-256', got };
}

function readContent(file: string): Buffer {
  const bytes = fs.readFileSync(file);
  return bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipBounded(bytes, file, MAX_UNPACKED_BYTES) : bytes;
}

/**
 * Download `url` to `dest`, continuing `dest.part` when a previous attempt broke off, retrying a
 * broken connection up to `retries` times. The finished file is renamed into place.
 */
export async function downloadFile(url: string, dest: string, events: FetchEvents & { retries?: number; expectedSize?: number } = {}): Promise<void> {
  const part = dest + '.part';
  const retries = events.retries ?? 3;
  for (let attempt = 0; ; attempt++) {
    const have = fs.existsSync(part) ? fs.statSync(part).size : 0;
    try {
      const complete = await downloadOnce(url, part, have, events, events.expectedSize);
      if (complete) break;
    } catch (err) {
      const got = fs.existsSync(part) ? fs.statSync(part).size : 0;
      if (err instanceof UserError || attempt >= retries) {
        const hint = got > 0 ? `; ${got} bytes are kept in ${part}: run the command again to resume` : '';
        throw new UserError(`download of ${url} failed: ${(err as Error).message}${hint}`);
      }
      events.log?.(`connection broken after ${got} bytes (${(err as Error).message}); resuming`);
    }
  }
  fs.renameSync(part, dest);
}

/** One request; true when the file is complete. */
async function downloadOnce(url: string, part: string, have: number, events: FetchEvents, expectedSize?: number): Promise<boolean> {
  if (expectedSize !== undefined && have === expectedSize) return true;
  const res = await fetch(url, { headers: have > 0 ? { Range: `bytes=${have}-` } : {} });
  if (res.status === 416 && have > 0) return true; // nothing left to send: the part is whole
  if (res.status !== 200 && res.status !== 206) throw new UserError(`HTTP ${res.status} ${res.statusText}`);
  const resume = res.status === 206 && have > 0;
  if (have > 0 && !resume) events.log?.(`the server does not resume downloads; starting ${path.basename(part, '.part')} again`);
  const length = Number(res.headers.get('content-length') ?? NaN);
  const total = Number.isFinite(length) ? length + (resume ? have : 0) : expectedSize;
  // A server (or a mirror given with --mirror) sending more than the recipe declares is not
  // sending that file: stop before it fills the disk.
  const oversize = (got: number) =>
    new UserError(`the server sends ${got.toLocaleString('en')} bytes or more for ${path.basename(part, '.part')}, but the recipe declares ${expectedSize!.toLocaleString('en')}; download aborted and the partial file removed`);
  if (expectedSize !== undefined && total !== undefined && total > expectedSize) {
    await res.body?.cancel();
    fs.rmSync(part, { force: true });
    throw oversize(total);
  }
  const fd = fs.openSync(part, resume ? 'a' : 'w');
  let done = resume ? have : 0;
  let closed = false;
  try {
    if (!res.body) throw new Error('empty response');
    const reader = res.body.getReader();
    for (;;) {
      const { value, done: finished } = await reader.read();
      if (finished) break;
      if (expectedSize !== undefined && done + value.length > expectedSize) {
        await reader.cancel();
        fs.closeSync(fd);
        fs.rmSync(part, { force: true });
        closed = true;
        throw oversize(done + value.length);
      }
      let off = 0;
      while (off < value.length) off += fs.writeSync(fd, value, off, value.length - off);
      done += value.length;
      events.progress?.(path.basename(part, '.part'), done, total);
    }
  } finally {
    if (!closed) fs.closeSync(fd);
  }
  if (total !== undefined && done < total) throw new Error(`received ${done} of ${total} bytes`);
  return true;
}

export interface FetchOptions extends FetchEvents {
  /** Destination folder (default: the recipe's, relative to the working directory). */
  dir?: string;
  /** A local folder (or the archive itself) to copy from instead of downloading. */
  from?: string;
  /** Base URLs to use instead of the recipe's mirrors. */
  mirrors?: string[];
  /** Most bytes an archive may unpack to (default MAX_UNPACKED_BYTES). */
  maxUnpackedBytes?: number;
}

/**
 * Most bytes a gzip file is unpacked to in memory (the CIFAR-10 archive holds 163 MB): without a
 * bound a 1 MB gzip of zeros (an API caller's recipe, checksum and all) unpacks to a gigabyte, and
 * past buffer.constants.MAX_LENGTH it was a bare RangeError.
 */
export const MAX_UNPACKED_BYTES = 1 << 30;

/** `bytes` (gzip) unpacked, at most `limit` bytes of it; more is a UserError naming `file`. */
function gunzipBounded(bytes: Buffer, file: string, limit: number): Buffer {
  try {
    return zlib.gunzipSync(bytes, { maxOutputLength: limit });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw new UserError(`${file}: unpacks to more than ${limit.toLocaleString('en-US')} bytes (the most a data set archive may hold here); not unpacked`);
    throw new UserError(`${file}: damaged gzip data (${(err as Error).message})`);
  }
}

/** Fetch a data set into its folder; returns the folder. Files already there and verified are kept. */
export async function fetchDataset(recipe: DatasetRecipe, opts: FetchOptions = {}): Promise<string> {
  const dir = path.resolve(opts.dir ?? recipe.dir);
  makeDirs(dir);
  if (recipe.ready && fs.existsSync(path.join(dir, recipe.ready)) && !opts.from) {
    opts.log?.(`${recipe.name} is already in ${dir}`);
    return dir;
  }
  for (const spec of recipe.files) {
    const dest = path.join(dir, spec.name);
    if (fs.existsSync(dest) && verifyFile(dest, spec).ok) {
      opts.log?.(`${spec.name}: already there, checksum verified`);
      continue;
    }
    if (opts.from) copyVerified(opts.from, spec, dest, opts);
    else await downloadVerified(recipe, spec, dest, opts);
  }
  if (recipe.extract) {
    const archive = path.join(dir, recipe.extract);
    opts.log?.(`unpacking ${recipe.extract}`);
    extractTar(gunzipBounded(fs.readFileSync(archive), archive, opts.maxUnpackedBytes ?? MAX_UNPACKED_BYTES), dir, archive);
  }
  return dir;
}

function copyVerified(from: string, spec: RemoteFile, dest: string, opts: FetchEvents): void {
  const candidates = fs.existsSync(from) && fs.statSync(from).isDirectory() ? [path.join(from, spec.name), path.join(from, spec.name.replace(/\.gz$/, ''))] : [from];
  const src = candidates.find((c) => fs.existsSync(c));
  if (!src) throw new UserError(`${spec.name} not found in ${from} (looked for ${candidates.join(', ')})`);
  const check = verifyFile(src, spec);
  if (!check.ok) throw new UserError(`${src}: checksum mismatch: SHA-256 ${check.got}, expected ${spec.sha256}${spec.contentSha256 ? ` (or content ${spec.contentSha256})` : ''}; the file is damaged or is another version`);
  // An uncompressed copy is stored under its own name: the idx sources read both.
  const target = src.endsWith('.gz') || !spec.name.endsWith('.gz') ? dest : dest.replace(/\.gz$/, '');
  const tmp = `${target}.tmp-${process.pid}`;
  fs.copyFileSync(src, tmp);
  fs.renameSync(tmp, target);
  opts.log?.(`${spec.name}: copied from ${src}, ${check.how} verified`);
}

async function downloadVerified(recipe: DatasetRecipe, spec: RemoteFile, dest: string, opts: FetchOptions): Promise<void> {
  const mirrors = opts.mirrors ?? recipe.mirrors;
  let lastError: Error | undefined;
  for (const base of mirrors) {
    const url = base.endsWith('/') ? base + spec.name : `${base}/${spec.name}`;
    try {
      await downloadFile(url, dest, { ...opts, expectedSize: spec.size });
    } catch (err) {
      lastError = err as Error;
      opts.log?.(`${url}: ${(err as Error).message}`);
      continue;
    }
    const check = verifyFile(dest, spec);
    if (check.ok) {
      opts.log?.(`${spec.name}: ${check.how} verified`);
      return;
    }
    fs.rmSync(dest, { force: true });
    throw new UserError(`${spec.name} from ${url}: checksum mismatch: SHA-256 ${check.got}, expected ${spec.sha256}; the download was removed`);
  }
  throw new UserError(`could not download ${spec.name}: ${lastError?.message ?? 'no mirror'}`);
}
