/**
 * Fuzzing the readers of what users hand us: seeded random mutations (byte flips, truncations,
 * insertions, duplicated lines, deep nesting, repeated slices) of the committed sample configs and
 * data samples, fed to the config reader (`checkConfig`, the path of `cvw validate`, and the
 * editor's features) and to the data sources (Fashion-MNIST idx, an image folder, COCO JSON, and
 * TFRecord shards packed from the image folder).
 *
 * Each case must end in success or a located user error: `UserError` naming the file, a problem
 * with a file and a range, an item error naming the item. Never another exception, never a case
 * longer than a few seconds, never memory growing past a bound. A watchdog thread kills the
 * process if a case hangs or balloons (a synchronous loop cannot be interrupted otherwise), after
 * writing the case's reproduction to stderr.
 *
 * CI runs a few seconds. More: `CVW_FUZZ_SECONDS=300 npx vitest run test/core/fuzz.test.ts`.
 * One case again: `CVW_FUZZ_TARGET=config CVW_FUZZ_SEED=123 npx vitest run test/core/fuzz.test.ts`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import '../../src/builtins';
import { checkConfig } from '../../src/core/check';
import { ConfigDocument } from '../../src/core/language/configDocument';
import { completions } from '../../src/core/language/completion';
import { hover } from '../../src/core/language/hover';
import { documentSymbols } from '../../src/core/language/symbols';
import { UserError, type Problem } from '../../src/core/problems';
import { Random } from '../../src/core/random';
import { inspectSource } from '../../src/data/inspect';
import { packSource } from '../../src/data/tfrecord/pack';
import { openSource } from '../data/helpers';
import { tempFiles } from '../helpers/tmp';

const SECONDS = Number(process.env.CVW_FUZZ_SECONDS ?? 6);
const ONLY_TARGET = process.env.CVW_FUZZ_TARGET;
const ONLY_SEED = process.env.CVW_FUZZ_SEED === undefined ? undefined : Number(process.env.CVW_FUZZ_SEED);
/**
 * A case may take this much CPU time (not wall time: CI machines are shared); the watchdog kills
 * the process when one runs this many times longer on the wall clock (a hang).
 */
const CASE_SECONDS = 3;
const HANG_FACTOR = 10;
/** Resident memory may grow this much over the start of the run. */
const RSS_BOUND = 1536 << 20;

const t = tempFiles({});
afterAll(() => t.cleanup());

// ---- mutations ---------------------------------------------------------------------------------

type Mutation = (bytes: Buffer, r: Random) => Buffer;

const flip: Mutation = (b, r) => {
  if (!b.length) return b;
  const out = Buffer.from(b);
  for (let k = 1 + r.int(8); k > 0; k--) out[r.int(out.length)] ^= 1 << r.int(8);
  return out;
};
const truncate: Mutation = (b, r) => b.subarray(0, r.int(b.length + 1));
const insert: Mutation = (b, r) => {
  const at = r.int(b.length + 1);
  const pieces = ['\n', ':', ' ', '- ', '[', '{', ']', '}', '"', "'", '#', '&a ', '*a', '!!str ', '_base_: ', '\t', '\0', '\uFEFF', String.fromCharCode(0xd800)];
  const junk = r.chance(0.5) ? Buffer.from(pieces[r.int(pieces.length)]) : Buffer.from(Array.from({ length: 1 + r.int(16) }, () => r.int(256)));
  return Buffer.concat([b.subarray(0, at), junk, b.subarray(at)]);
};
const duplicateLines: Mutation = (b, r) => {
  const lines = b.toString('latin1').split('\n');
  const i = r.int(lines.length);
  const n = 1 + r.int(Math.min(8, lines.length - i));
  const copies = 1 + r.int(r.chance(0.2) ? 500 : 4);
  const chunk = lines.slice(i, i + n);
  lines.splice(i, 0, ...Array.from({ length: copies }, () => chunk).flat());
  return Buffer.from(lines.join('\n'), 'latin1');
};
const deepNesting: Mutation = (b, r) => {
  const depth = [50, 150, 1000, 5000][r.int(4)];
  const at = r.int(b.length + 1);
  const kind = r.int(3);
  const nest =
    kind === 0 ? '['.repeat(depth) + ']'.repeat(r.chance(0.5) ? depth : 0) : kind === 1 ? '{"a":'.repeat(depth) + '1' + '}'.repeat(depth) : '\n' + Array.from({ length: depth }, (_, i) => `${' '.repeat(i + 1)}k:`).join('\n') + ' 1\n';
  return Buffer.concat([b.subarray(0, at), Buffer.from(nest), b.subarray(at)]);
};
const repeatSlice: Mutation = (b, r) => {
  const start = r.int(b.length + 1);
  const slice = b.subarray(start, start + 1 + r.int(64));
  const times = 1 + r.int(r.chance(0.3) ? 1000 : 50);
  return Buffer.concat([b.subarray(0, start), Buffer.concat(Array.from({ length: times }, () => slice)), b.subarray(start)]);
};

const TEXT_MUTATIONS: Mutation[] = [flip, truncate, insert, insert, duplicateLines, deepNesting, repeatSlice];
const BINARY_MUTATIONS: Mutation[] = [flip, flip, truncate, insert, repeatSlice];

/**
 * Mutated inputs stay under 128 KB: beyond, time grows with the size alone (`yaml` reads ~1 MB a
 * second), which test/core/bounds.test.ts measures on purpose-built large inputs.
 */
const MAX_CASE_BYTES = 128 << 10;

function mutate(bytes: Buffer, r: Random, mutations: Mutation[]): Buffer {
  let out = bytes;
  for (let k = 1 + r.int(3); k > 0; k--) out = mutations[r.int(mutations.length)](out, r).subarray(0, MAX_CASE_BYTES);
  return out;
}

// ---- what a case may end in ----------------------------------------------------------------------

/** A problem must say where: a file, a range of numbers, a message that is not a stack trace. */
function checkProblem(p: Problem): void {
  expect(typeof p.file === 'string' && p.file.length > 0, `problem without a file: ${p.message}`).toBe(true);
  expect([p.range.start.line, p.range.start.character].every((n) => Number.isInteger(n) && n >= 0), `bad range in ${p.message}`).toBe(true);
  expect(p.message).not.toMatch(/\n\s+at /);
  expect(p.message.split('\n').every((l) => l.length <= 1100), `a message line over the clip limit: ${p.message.slice(0, 300)}`).toBe(true);
}

/** A thrown error must be a UserError that names `mentions` (the file or folder read). */
function checkThrown(err: unknown, mentions: string): void {
  if (!(err instanceof UserError)) throw new Error(`not a user error: ${(err as Error)?.stack ?? String(err)}`);
  expect(err.message, 'a user error that does not say which file').toContain(mentions);
}

// ---- targets -------------------------------------------------------------------------------------

interface Target {
  name: string;
  run(seed: number): Promise<void>;
}

function copyTree(from: string, to: string): void {
  fs.cpSync(from, to, { recursive: true });
}

const configRoot = t.file('configs');
copyTree('configs', configRoot);
const configFiles = (fs.readdirSync(configRoot, { recursive: true }) as string[]).filter((f) => f.endsWith('.yaml')).map((f) => path.join(configRoot, f)).sort();
const configOriginals = new Map(configFiles.map((f) => [f, fs.readFileSync(f)]));

const configTarget: Target = {
  name: 'config',
  async run(seed) {
    const r = new Random(seed);
    const file = configFiles[r.int(configFiles.length)];
    const text = mutate(configOriginals.get(file)!, r, TEXT_MUTATIONS);
    fs.writeFileSync(file, text);
    try {
      const { problems } = checkConfig(file, { customImports: false });
      problems.forEach(checkProblem);
      // the editor's features on the same text (they read unsaved buffers, so no size check first)
      const doc = new ConfigDocument(file, text.toString('utf8'));
      documentSymbols(doc);
      for (let k = 0; k < 3; k++) {
        const offset = r.int(doc.text.length + 1);
        const position = doc.index.positionAt(offset);
        completions(doc, position);
        hover(doc, position);
      }
    } finally {
      fs.writeFileSync(file, configOriginals.get(file)!);
    }
  },
};

const idxRoot = t.file('fashion');
fs.mkdirSync(idxRoot);
const idxNames = ['t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'];
const idxOriginals = new Map(idxNames.map((n) => [n, fs.readFileSync(`data/fashion-mnist-sample/${n}`)]));
const idxPlain = new Map(idxNames.map((n) => [n, require('node:zlib').gunzipSync(idxOriginals.get(n)!) as Buffer]));

const idxTarget: Target = {
  name: 'idx',
  async run(seed) {
    const r = new Random(seed);
    for (const f of fs.readdirSync(idxRoot)) fs.rmSync(path.join(idxRoot, f));
    const victim = idxNames[r.int(2)];
    // Either the gzip stream or the idx bytes inside it (stored uncompressed) are mutated.
    const plain = r.chance(0.5);
    for (const n of idxNames) {
      if (n !== victim) fs.writeFileSync(path.join(idxRoot, n), idxOriginals.get(n)!);
      else if (plain) fs.writeFileSync(path.join(idxRoot, n.replace(/\.gz$/, '')), mutate(idxPlain.get(n)!, r, BINARY_MUTATIONS));
      else fs.writeFileSync(path.join(idxRoot, n), mutate(idxOriginals.get(n)!, r, BINARY_MUTATIONS));
    }
    await openAndInspect({ type: 'FashionMNIST', root: idxRoot }, idxRoot);
  },
};

const folderRoot = t.file('images');
copyTree('data/images-sample', folderRoot);
const imageFiles = (fs.readdirSync(folderRoot, { recursive: true }) as string[]).filter((f) => /\.(png|jpe?g)$/.test(f)).map((f) => path.join(folderRoot, f)).sort();
const imageOriginals = new Map(imageFiles.map((f) => [f, fs.readFileSync(f)]));

const folderTarget: Target = {
  name: 'images',
  async run(seed) {
    const r = new Random(seed);
    const file = imageFiles[r.int(imageFiles.length)];
    fs.writeFileSync(file, mutate(imageOriginals.get(file)!, r, BINARY_MUTATIONS));
    try {
      await openAndInspect({ type: 'ImageFolder', root: folderRoot }, folderRoot);
    } finally {
      fs.writeFileSync(file, imageOriginals.get(file)!);
    }
  },
};

const cocoFile = t.file('coco/instances_val.json');
fs.mkdirSync(path.dirname(cocoFile));
const cocoOriginal = fs.readFileSync('data/shapes-sample/annotations/instances_val.json');

const cocoTarget: Target = {
  name: 'coco',
  async run(seed) {
    const r = new Random(seed);
    fs.writeFileSync(cocoFile, mutate(cocoOriginal, r, TEXT_MUTATIONS));
    await openAndInspect({ type: 'COCO', ann_file: cocoFile, img_dir: path.resolve('data/shapes-sample/val') }, cocoFile, r.chance(0.5));
  },
};

/** The image folder packed as a TFRecord shard with its DALI index; the shard or the index is mutated. */
const shardDir = t.file('tfrecord');
let shardOriginals: Map<string, Buffer> | undefined;

const tfrecordTarget: Target = {
  name: 'tfrecord',
  async run(seed) {
    if (!shardOriginals) {
      const { source } = await openSource({ type: 'ImageFolder', root: 'data/images-sample' });
      await packSource(source, { out: shardDir, shards: 1, prefix: 'train', shuffle: false });
      shardOriginals = new Map(fs.readdirSync(shardDir).map((f) => [path.join(shardDir, f), fs.readFileSync(path.join(shardDir, f))]));
    }
    const r = new Random(seed);
    const files = [...shardOriginals.keys()].filter((f) => !f.endsWith('classes.txt')).sort();
    const file = files[r.int(files.length)];
    fs.writeFileSync(file, mutate(shardOriginals.get(file)!, r, file.endsWith('.idx') ? TEXT_MUTATIONS : BINARY_MUTATIONS));
    try {
      await openAndInspect({ type: 'TFRecord', files: shardDir }, shardDir);
    } finally {
      fs.writeFileSync(file, shardOriginals.get(file)!);
    }
  },
};

/** Open a source and decode every item: success, a UserError naming `mentions`, or bad items with their place. */
async function openAndInspect(cfg: Record<string, unknown>, mentions: string, skipCorrupt = false): Promise<void> {
  let opened: Awaited<ReturnType<typeof openSource>>;
  try {
    opened = await openSource(cfg, { split: 'val', skipCorrupt });
  } catch (err) {
    checkThrown(err, mentions);
    return;
  }
  for (const s of opened.skipped) expect(s.where).toContain(mentions);
  let report: Awaited<ReturnType<typeof inspectSource>>;
  try {
    report = await inspectSource(opened.source, { check: true });
  } catch (err) {
    checkThrown(err, mentions);
    return;
  }
  for (const b of report.bad) {
    expect(b.where.length > 0 && b.reason.length > 0).toBe(true);
    expect(b.reason).not.toMatch(/\n\s+at /);
  }
}

const TARGETS: Target[] = [configTarget, idxTarget, folderTarget, cocoTarget, tfrecordTarget];

// ---- the watchdog --------------------------------------------------------------------------------

/**
 * A thread that watches the case in progress (a shared heartbeat) and, when it runs past its
 * time or memory grows past the bound, writes the reproduction to stderr and kills the process.
 */
function startWatchdog(): { start(line: string): void; end(): void; stop(): Promise<number> } {
  const shared = new Int32Array(new SharedArrayBuffer(8));
  const code = `
    const { workerData } = require('node:worker_threads');
    const fs = require('node:fs');
    const shared = new Int32Array(workerData.buffer);
    const base = process.memoryUsage.rss();
    let seen = -1, since = Date.now();
    setInterval(() => {
      const n = Atomics.load(shared, 0);
      if (n !== seen) { seen = n; since = Date.now(); }
      const busy = Atomics.load(shared, 1) === 1;
      const grown = process.memoryUsage.rss() - base;
      const why = busy && Date.now() - since > workerData.hangMs ? 'hung for ' + (Date.now() - since) + ' ms'
        : grown > workerData.rssBound ? 'memory grew by ' + (grown >> 20) + ' MB' : '';
      if (why) {
        fs.writeSync(2, 'fuzz: ' + why + ': ' + fs.readFileSync(workerData.caseFile, 'utf8') + '\\n');
        process.kill(process.pid, 'SIGKILL');
      }
    }, 200);
  `;
  const caseFile = t.file('current-case');
  const worker = new Worker(code, { eval: true, workerData: { buffer: shared.buffer, hangMs: HANG_FACTOR * CASE_SECONDS * 1000, rssBound: RSS_BOUND, caseFile } });
  worker.unref();
  return {
    start(line) {
      fs.writeFileSync(caseFile, line);
      Atomics.add(shared, 0, 1);
      Atomics.store(shared, 1, 1);
    },
    end() {
      Atomics.store(shared, 1, 0);
    },
    stop: () => worker.terminate(),
  };
}

// ---- the run -------------------------------------------------------------------------------------

describe('fuzzing the config reader and the data sources', () => {
  it(`random mutations of the committed samples end in success or a located error (${SECONDS} s)`, async () => {
    const dog = startWatchdog();
    const failures: string[] = [];
    const counts = new Map<string, number>();
    const baseRss = process.memoryUsage.rss();
    const targets = ONLY_TARGET ? TARGETS.filter((x) => x.name === ONLY_TARGET) : TARGETS;
    expect(targets.length, `CVW_FUZZ_TARGET is one of ${TARGETS.map((x) => x.name).join(', ')}`).toBeGreaterThan(0);
    const firstSeed = ONLY_SEED ?? Number(process.env.CVW_FUZZ_FIRST_SEED ?? 1);
    const deadline = Date.now() + SECONDS * 1000;
    try {
      for (let seed = firstSeed; ONLY_SEED !== undefined ? seed === ONLY_SEED : Date.now() < deadline; seed++) {
        for (const target of targets) {
          const repro = `CVW_FUZZ_TARGET=${target.name} CVW_FUZZ_SEED=${seed} npx vitest run test/core/fuzz.test.ts`;
          dog.start(repro);
          const cpu0 = process.cpuUsage();
          try {
            await target.run(seed);
          } catch (err) {
            failures.push(`${repro}  # ${String((err as Error)?.stack ?? err).split('\n').slice(0, 3).join(' | ').slice(0, 400)}`);
          }
          dog.end();
          const cpu = process.cpuUsage(cpu0);
          const ms = Math.round((cpu.user + cpu.system) / 1000);
          if (ms > CASE_SECONDS * 1000) failures.push(`${repro}  # took ${ms} ms of CPU`);
          const grown = process.memoryUsage.rss() - baseRss;
          if (grown > RSS_BOUND) failures.push(`${repro}  # memory grew by ${grown >> 20} MB`);
          counts.set(target.name, (counts.get(target.name) ?? 0) + 1);
        }
      }
    } finally {
      await dog.stop();
    }
    for (const f of failures) process.stderr.write(`fuzz failure: ${f}\n`);
    process.stderr.write(`fuzz: ${[...counts].map(([k, n]) => `${n} ${k}`).join(', ')} cases\n`);
    expect(failures).toEqual([]);
    for (const target of targets) expect(counts.get(target.name) ?? 0).toBeGreaterThan(0);
  }, (SECONDS + 60) * 1000);
});
