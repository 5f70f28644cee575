// The platform VSIXs of scripts/package-vsix.mjs, used as a user would: the linux-x64 one and the
// universal one unpacked into empty folders (no node_modules anywhere above them), their bundled
// CLI run in a workspace holding only data/images-sample. The other targets' native parts are
// fetched from npm the same way and checked by file names and ELF/Mach-O/PE headers. Needs the npm
// registry (the packages land in npm's cache after the first run). The linux-x64 one also runs the
// webgpu engine where Dawn finds an adapter (Mesa's software one here, as test/engine/webgpu.test.ts).
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_FILES } from '../../src/templates/sampleWorkspace';
import { probeWebgpu } from '../../src/engine/webgpu';
import { tinyClassificationYaml } from '../helpers/tinyConfig';

const REPO = path.join(__dirname, '..', '..');
const version = (JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string }).version;

interface Made {
  target: string;
  vsix: string;
  bytes: number;
}
interface Kind {
  format: string;
  archs: string[];
}
interface PackageScript {
  TARGETS: Record<string, { sharp: string; ort: string | null; dawn: string }>;
  packageVsix(o: { targets: string[]; outDir: string; cache?: string; log?: (l: string) => void }): Promise<Made[]>;
  fetchNative(target: string, cache: string): Promise<string>;
  assembleNative(target: string, nodeModules: string, dest: string): string;
  checkNative(target: string, dir: string): string[];
  binaryKind(file: string): Kind | undefined;
  listFiles(dir: string): string[];
}

// Outside the repository: Node must not find the repository's node_modules from the unpacked extension.
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cvw-vsix-'));
const cache = path.join(os.tmpdir(), 'cvw-vsix-cache');
let script: PackageScript;
let made: Record<string, Made>;

function unpack(vsix: string, dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  execFileSync('unzip', ['-q', vsix, '-d', dir]);
  return path.join(dir, 'extension');
}

/** An empty workspace with the committed JPEG/PNG sample only. */
function workspace(name: string): string {
  const ws = path.join(tmp, name);
  fs.cpSync(path.join(REPO, 'data', 'images-sample'), path.join(ws, 'images-sample'), { recursive: true });
  return ws;
}

function cvw(ext: string, cwd: string, ...args: string[]) {
  const env = { ...process.env };
  delete env.NODE_PATH;
  delete env.NODE_OPTIONS;
  // Set in this process by the webgpu probe; a user's shell has none: the CLI sets it for Mesa itself.
  delete env.EGL_PLATFORM;
  const r = spawnSync(process.execPath, [path.join(ext, 'dist', 'cli', 'cvw.js'), ...args], { cwd, env, encoding: 'utf8', timeout: 240_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const TRAIN = ['train', '--model-type', 'Classification', '--data.train.source.root', 'images-sample', '--data.val.source.root', 'images-sample', '--max-iters', '1', '-q'];

beforeAll(async () => {
  // @ts-expect-error: a JavaScript build script without types
  script = (await import('../../scripts/package-vsix.mjs')) as PackageScript;
  const list = await script.packageVsix({ targets: ['linux-x64', 'universal'], outDir: path.join(tmp, 'out'), cache, log: () => {} });
  made = Object.fromEntries(list.map((m) => [m.target, m]));
}, 300_000);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe.runIf(process.platform === 'linux' && process.arch === 'x64')('the linux-x64 VSIX, unpacked into an empty folder', () => {
  let ext: string;
  beforeAll(() => {
    ext = unpack(made['linux-x64'].vsix, path.join(tmp, 'linux-x64'));
  });

  it('is named for its target and carries only linux x64 binaries, each package once', () => {
    expect(path.basename(made['linux-x64'].vsix)).toBe(`cv-workbench-linux-x64-${version}.vsix`);
    const manifest = fs.readFileSync(path.join(path.dirname(ext), 'extension.vsixmanifest'), 'utf8');
    expect(manifest).toContain('TargetPlatform="linux-x64"');
    const nm = path.join(ext, 'dist', 'node_modules');
    expect(script.checkNative('linux-x64', nm)).toEqual([]);
    const packages = fs.readdirSync(nm).flatMap((n) => (n.startsWith('@') ? fs.readdirSync(path.join(nm, n)).map((m) => `${n}/${m}`) : [n]));
    // The native packages and their run-time dependencies; the JavaScript (tfjs, zod, ...) is in the bundles only.
    expect(packages.sort()).toEqual(['@img/colour', '@img/sharp-libvips-linux-x64', '@img/sharp-linux-x64', 'detect-libc', 'onnxruntime-common', 'onnxruntime-node', 'semver', 'sharp', 'webgpu']);
    expect(fs.readdirSync(path.join(nm, 'onnxruntime-node', 'bin', 'napi-v6'))).toEqual(['linux']);
    expect(fs.readdirSync(path.join(nm, 'webgpu', 'dist'))).toEqual(['linux-x64']);
    expect(script.binaryKind(path.join(nm, 'onnxruntime-node', 'bin', 'napi-v6', 'linux', 'x64', 'onnxruntime_binding.node'))).toEqual({ format: 'elf', archs: ['x64'] });
    const main = fs.readFileSync(path.join(ext, 'dist', 'cli', 'main.js'), 'utf8');
    expect(main).toContain('require("sharp")');
    expect(main).not.toContain('Could not load the "sharp" module');
    // tfjs' WebGPU backend is in the CLI's bundle (esbuild's per-module comments), beside one tfjs-core; the data workers' bundle has no engine to run.
    const modules = (code: string, pkg: string) => code.match(new RegExp(`^// \\S*node_modules/@tensorflow/${pkg}/\\S+$`, 'gm')) ?? [];
    expect(modules(main, 'tfjs-backend-webgpu')).toHaveLength(1);
    expect(modules(main, 'tfjs-core')).toHaveLength(1);
    const worker = fs.readFileSync(path.join(ext, 'dist', 'cli', 'sampleWorker.js'), 'utf8');
    expect(modules(worker, 'tfjs-backend-webgpu')).toEqual([]);
    expect(modules(worker, 'tfjs-core')).toHaveLength(1);
    expect(JSON.parse(fs.readFileSync(path.join(ext, 'dist', 'native.json'), 'utf8'))).toMatchObject({ target: 'linux-x64', modules: ['sharp', 'onnxruntime-node', 'webgpu'] });
    expect(made['linux-x64'].bytes).toBeLessThan(60 * 1048576);
    // What the walkthrough's "Create Sample Workspace" copies, and its pages.
    for (const f of [...SAMPLE_FILES, 'media/walkthrough/sample.md', 'data/images-sample/bag/bag-0.jpg']) expect(fs.existsSync(path.join(ext, f)), f).toBe(true);
  });

  it('runs its bundled CLI on wasm-ort and trains on a folder of JPEG/PNG images, nothing installed', () => {
    const ws = workspace('ws-linux-x64');
    const env = cvw(ext, ws, 'env', '--json');
    expect(env.code, env.err).toBe(0);
    expect(JSON.parse(env.out)).toMatchObject({ engine: 'wasm-ort' });
    const train = cvw(ext, ws, ...TRAIN);
    expect(train.code, train.err).toBe(0);
    const runs = path.join(ws, 'work_dirs', 'Classification');
    const [run] = fs.readdirSync(runs);
    const status = JSON.parse(fs.readFileSync(path.join(runs, run, 'run.json'), 'utf8')) as { status: string; engine: { engine: string }; iter: number };
    expect(status).toMatchObject({ status: 'finished', engine: { engine: 'wasm-ort' }, iter: 1 });
  });

  it("runs the webgpu engine from its bundled CLI (tfjs' WebGPU backend in the bundle, Dawn from dist/node_modules): the adapter in cvw env, 2 iterations with the wasm engine's loss", async (ctx) => {
    // The adapter this machine has (Mesa's llvmpipe here and in CI): the VSIX must find the same one.
    const probe = await probeWebgpu();
    if (!probe.available) {
      console.warn(`VSIX webgpu test skipped: ${probe.note}`);
      ctx.skip();
    }
    const ws = workspace('ws-webgpu');
    const images = path.join(REPO, 'data', 'images-sample');
    const config = tinyClassificationYaml({ seed: 4, runner: 'max_iters: 2, log_interval: 1' }).split(images).join('images-sample');
    fs.writeFileSync(path.join(ws, 'tiny.yaml'), config);
    const env = cvw(ext, ws, 'env', '--json');
    expect(env.code, env.err).toBe(0);
    const webgpu = (JSON.parse(env.out) as { available: { engine: string; available: boolean; note: string; adapter?: unknown }[] }).available.find((a) => a.engine === 'webgpu');
    expect(webgpu).toMatchObject({ available: true, adapter: probe.adapter });
    expect(webgpu!.note).toMatch(/^webgpu 0\.6\.2, @tensorflow\/tfjs-backend-webgpu 4\.22\.0 \(bundled\): /);
    const losses: Record<string, number> = {};
    for (const backend of ['webgpu', 'wasm']) {
      const train = cvw(ext, ws, 'train', 'tiny.yaml', '--backend', backend, '--max-iters', '2');
      expect(train.code, train.err).toBe(0);
      // stdout: the run directory; stderr: the log.
      const runDir = train.out.trim();
      const status = JSON.parse(fs.readFileSync(path.join(runDir, 'run.json'), 'utf8')) as { status: string; engine: { engine: string }; iter: number; last_loss: number };
      expect(status).toMatchObject({ status: 'finished', engine: { engine: backend }, iter: 2 });
      losses[backend] = status.last_loss;
      if (backend === 'webgpu') expect(train.err).toContain(`engine: webgpu on ${probe.adapter!.software ? 'CPU' : 'GPU'}: tfjs WebGPU backend on Dawn (tfjs-core 4.22.0, webgpu 0.6.2, tfjs-backend-webgpu 4.22.0; adapter ${probe.adapter!.device}`);
    }
    // Same seed, same crops: the GPU kernels (registered into the bundle's own tfjs-core) compute the wasm engine's loss.
    expect(Number.isFinite(losses.webgpu)).toBe(true);
    expect(Math.abs(losses.webgpu - losses.wasm)).toBeLessThan(1e-4 * Math.max(1, Math.abs(losses.wasm)));
  });
});

describe('the universal VSIX (no native parts)', () => {
  let ext: string;
  beforeAll(() => {
    ext = unpack(made.universal.vsix, path.join(tmp, 'universal'));
  });

  it('has no node_modules and says so', () => {
    expect(fs.existsSync(path.join(ext, 'dist', 'node_modules'))).toBe(false);
    expect(JSON.parse(fs.readFileSync(path.join(ext, 'dist', 'native.json'), 'utf8'))).toEqual({ target: 'universal', modules: [] });
    expect(made.universal.bytes).toBeLessThan(made['linux-x64'].bytes / 3);
  });

  it("has tfjs' WebGPU backend but no Dawn: cvw env and engine.backend: webgpu say which VSIX has it", () => {
    const ws = workspace('ws-universal-webgpu');
    const platformVsix = `cv-workbench-${process.platform}-${process.arch}-${version}.vsix`;
    const env = cvw(ext, ws, 'env');
    expect(env.code, env.err).toBe(0);
    expect(env.out).toMatch(/^ {2}- webgpu +webgpu not installed$/m);
    expect(env.out).toContain(`Dawn from a platform VSIX or npm (this bundled cvw has tfjs' WebGPU backend in it): this is the universal VSIX of the extension, which has no native parts: install the one for ${process.platform}-${process.arch} (${platformVsix}), or run \`npm install --save-exact webgpu@0.6.2\` in the workspace`);
    const train = cvw(ext, ws, ...TRAIN, '--backend', 'webgpu');
    expect(train.code).not.toBe(0);
    expect(train.err).toContain(`engine.backend: webgpu is not available here (webgpu not installed); install it with Dawn from a platform VSIX or npm`);
  });

  it('names the missing sharp once, with what it is for and where to get it, instead of blaming the images', () => {
    const ws = workspace('ws-universal');
    const platformVsix = `cv-workbench-${process.platform}-${process.arch}-${version}.vsix`;
    for (const workers of ['2', '0']) {
      const train = cvw(ext, ws, ...TRAIN, '--data.workers', workers);
      expect(train.code).not.toBe(0);
      const said = train.err.match(/it is needed for decoding and encoding images/g) ?? [];
      expect(said, train.err).toHaveLength(1);
      expect(train.err).toContain("sharp cannot be loaded (Cannot find module 'sharp'); it is needed for decoding and encoding images with libvips");
      expect(train.err).toContain(`this is the universal VSIX of the extension, which has no native parts: install the one for ${process.platform}-${process.arch} (${platformVsix})`);
      expect(train.err).not.toMatch(/skip_corrupt|bad item|\.jpg/);
    }
    const inspect = cvw(ext, ws, 'data', 'inspect', 'images-sample', '--check');
    expect(inspect.code).not.toBe(0);
    expect(inspect.err.match(/sharp cannot be loaded/g) ?? []).toHaveLength(1);
    expect(inspect.err).not.toMatch(/\.jpg|\.png/);
  });
});

describe('the other targets: the native parts npm serves for each, cut to the target', () => {
  const others = ['linux-arm64', 'darwin-x64', 'darwin-arm64', 'win32-x64'];
  const trees: Record<string, string> = {};
  beforeAll(async () => {
    for (const t of others) trees[t] = script.assembleNative(t, await script.fetchNative(t, cache), path.join(tmp, 'native', t, 'node_modules'));
  }, 240_000);

  it.each(others)('%s: every binary has the right format and architecture', (target) => {
    expect(script.checkNative(target, trees[target])).toEqual([]);
    const t = script.TARGETS[target];
    const files = script.listFiles(trees[target]);
    const kind = (f: string) => script.binaryKind(path.join(trees[target], f));
    const expected = { 'linux-arm64': { format: 'elf', archs: ['arm64'] }, 'darwin-arm64': { format: 'macho', archs: ['arm64'] }, 'darwin-x64': { format: 'macho', archs: ['x64'] }, 'win32-x64': { format: 'pe', archs: ['x64'] } }[target];
    expect(kind(`@img/sharp-${t.sharp}/lib/sharp-${t.sharp}.node`)).toEqual(expected);
    // Dawn on macOS is one universal (fat) binary holding both architectures.
    expect(kind(`webgpu/dist/${t.dawn}/dawn.node`)).toEqual(target.startsWith('darwin') ? { format: 'macho', archs: expect.arrayContaining(['x64', 'arm64']) } : expected);
    // onnxruntime-node 1.30.0 has no darwin/x64 build: that VSIX leaves it out and trains on the wasm engine.
    expect(t.ort === null).toBe(target === 'darwin-x64');
    const ort = files.filter((f) => f.startsWith('onnxruntime-'));
    if (t.ort) {
      expect(ort).toContain(`onnxruntime-node/bin/napi-v6/${t.ort}/onnxruntime_binding.node`);
      expect(kind(`onnxruntime-node/bin/napi-v6/${t.ort}/onnxruntime_binding.node`)).toEqual(expected);
    } else expect(ort).toEqual([]);
  });

  it('tells a tree of another platform from the right one', () => {
    const problems = script.checkNative('linux-x64', trees['linux-arm64']);
    expect(problems).toContain('@img/sharp-linux-x64/lib/sharp-linux-x64.node is missing');
    expect(problems).toContain('@img/sharp-linux-arm64/lib/sharp-linux-arm64.node: elf arm64, expected elf x64');
    expect(problems).toContain('onnxruntime-node/bin/napi-v6/linux/arm64/onnxruntime_binding.node: another platform\'s binary');
  });
});
