/**
 * Reading a tar archive (POSIX ustar and GNU long names), enough to unpack the CIFAR archives
 * without a system `tar`. Only regular files and folders are extracted; paths that would leave the
 * destination are refused.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../core/problems';
import { makeDirs } from '../core/makeDirs';

function field(block: Uint8Array, from: number, len: number): string {
  let end = from;
  while (end < from + len && block[end] !== 0) end++;
  return Buffer.from(block.subarray(from, end)).toString('utf8');
}

function octal(block: Uint8Array, from: number, len: number): number {
  const s = field(block, from, len).trim();
  return s ? parseInt(s, 8) : 0;
}

export interface TarEntry {
  name: string;
  type: 'file' | 'dir' | 'other';
  data: Uint8Array;
}

/** The entries of an uncompressed tar archive held in memory. */
export function* tarEntries(tar: Uint8Array, what: string): Generator<TarEntry> {
  let offset = 0;
  let longName: string | undefined;
  while (offset + 512 <= tar.length) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) return;
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : header[i];
    if (sum !== octal(header, 148, 8)) throw new UserError(`${what}: damaged tar header at byte ${offset} (checksum mismatch)`);
    const size = octal(header, 124, 12);
    // A negative size led back to this header (-512 bytes: the same entry forever), NaN nowhere.
    if (!Number.isSafeInteger(size) || size < 0) throw new UserError(`${what}: damaged tar header at byte ${offset}: its size field "${field(header, 124, 12).trim()}" is not a size in octal`);
    const flag = String.fromCharCode(header[156] || 48);
    const prefix = field(header, 345, 155);
    const name = longName ?? (prefix ? `${prefix}/${field(header, 0, 100)}` : field(header, 0, 100));
    longName = undefined;
    const dataStart = offset + 512;
    if (dataStart + size > tar.length) throw new UserError(`${what}: truncated: "${name}" at byte ${offset} needs ${size} bytes but the archive ends first`);
    const data = tar.subarray(dataStart, dataStart + size);
    offset = dataStart + Math.ceil(size / 512) * 512;
    if (flag === 'L') {
      longName = field(data, 0, data.length);
      continue;
    }
    yield { name, type: flag === '0' || flag === '\0' || flag === '7' ? 'file' : flag === '5' ? 'dir' : 'other', data };
  }
}

/** Extract every file of `tar` below `dest`; returns the files written. */
export function extractTar(tar: Uint8Array, dest: string, what: string): string[] {
  const written: string[] = [];
  const root = path.resolve(dest);
  for (const e of tarEntries(tar, what)) {
    const target = path.resolve(root, e.name);
    if (target !== root && !target.startsWith(root + path.sep)) throw new UserError(`${what}: refusing to extract "${e.name}" outside ${root}`);
    if (e.type === 'dir') makeDirs(target);
    else if (e.type === 'file') {
      makeDirs(path.dirname(target));
      const tmp = `${target}.tmp-${process.pid}`;
      fs.writeFileSync(tmp, e.data);
      fs.renameSync(tmp, target);
      written.push(target);
    }
  }
  return written;
}
