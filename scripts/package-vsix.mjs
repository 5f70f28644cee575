// Platform VSIXs: `npm run package:vsix -- --target linux-x64` (repeatable) or `-- --all`.
//
// Each platform VSIX (`vsce package --target <t>`) is the universal one plus that platform's native
// parts in dist/node_modules, where Node finds them from the bundled CLI (dist/cli) and the
// extension (dist/extension.js) without anything installed in the workspace:
//   sharp            + @img/sharp-<platform> and @img/sharp-libvips-<platform> (image decoding)
//   onnxruntime-node   its bin/ pruned to the target's folder (the wasm-ort engine's kernels)
//   webgpu             dawn.node of the target (the webgpu engine's Dawn; tfjs' WebGPU backend
//                      is in the bundled CLI itself, on its tfjs-core: scripts/bundles.mjs)
// (On Windows sharp-win32-x64 holds libvips itself.) Everything comes prebuilt from the npm registry (`npm install --os --cpu --libc --ignore-scripts`
// into a cache folder), so one machine builds every platform. The universal VSIX has no native
// part: its bundled CLI decodes no JPEG/PNG and runs the wasm engine (src/core/nativeModules.ts
// says so when it matters).
//
// Options: --out <dir> (default vsix/), --cache <dir> (default <out>/cache), --universal (also /
// only the universal one; --all includes it).
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { closeSync, cpSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The webgpu package whose dawn.node the platform VSIXs carry (the version package.json's optionalDependencies pin). */
export const WEBGPU_VERSION = '0.6.2';

/**
 * The VSIX targets and where each native package keeps that platform's binaries. `ort` is the
 * folder under onnxruntime-node/bin/napi-v6; null for darwin-x64, which onnxruntime-node 1.30.0
 * does not build: that VSIX leaves it out (the engine says "not installed"), has sharp and Dawn,
 * and trains on the wasm engine.
 */
export const TARGETS = {
  'linux-x64': { os: 'linux', cpu: 'x64', libc: 'glibc', sharp: 'linux-x64', ort: 'linux/x64', dawn: 'linux-x64', format: 'elf', arch: 'x64' },
  'linux-arm64': { os: 'linux', cpu: 'arm64', libc: 'glibc', sharp: 'linux-arm64', ort: 'linux/arm64', dawn: 'linux-arm64', format: 'elf', arch: 'arm64' },
  'darwin-x64': { os: 'darwin', cpu: 'x64', sharp: 'darwin-x64', ort: null, dawn: 'darwin-universal', format: 'macho', arch: 'x64' },
  'darwin-arm64': { os: 'darwin', cpu: 'arm64', sharp: 'darwin-arm64', ort: 'darwin/arm64', dawn: 'darwin-universal', format: 'macho', arch: 'arm64' },
  'win32-x64': { os: 'win32', cpu: 'x64', sharp: 'win32-x64', ort: 'win32/x64', dawn: 'win32-x64', format: 'pe', arch: 'x64' },
};

/** What the VSIX is made from; .vscodeignore then decides what goes in. */
export const MANIFEST_FILES = ['package.json', 'README.md', 'LICENSE', 'LICENSE.md', 'CHANGELOG.md', '.vscodeignore', 'media', 'templates', 'data/fashion-mnist-sample', 'data/images-sample', 'configs/_base_', 'configs/classification/resnet18_fashion_mnist_sample.yaml', 'packages/mpi/package.json', 'packages/mpi/binding.gyp', 'packages/mpi/src', 'packages/onednn/package.json', 'packages/onednn/binding.gyp', 'packages/onednn/src'];

/** Dependencies of the native packages that only their install scripts use (never required at run time). */
const INSTALL_ONLY = new Set(['adm-zip', 'global-agent', 'debug', '@webgpu/types']);

/** Files of a package that a running program never reads. */
const NOT_AT_RUN_TIME = { 'onnxruntime-node': ['script', 'lib', 'README.md'], webgpu: ['build', 'README.md'] };

function pinnedVersion(name) {
  const v = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).dependencies?.[name];
  if (!v) throw new Error(`package.json: dependencies.${name} is missing`);
  return v;
}

/** The packages a platform VSIX carries, at the versions package.json pins. */
export function nativePackages() {
  return [`sharp@${pinnedVersion('sharp')}`, `onnxruntime-node@${pinnedVersion('onnxruntime-node')}`, `webgpu@${WEBGPU_VERSION}`];
}

/**
 * The target's packages from the npm registry into `<cache>/<target>/node_modules` (install
 * scripts skipped: onnxruntime-node's would download CUDA libraries, webgpu's nothing we need).
 * Kept between calls; a finished install is marked by its `.installed` list.
 */
export async function fetchNative(target, cache) {
  const t = TARGETS[target];
  if (!t) throw new Error(`unknown target ${target}: expected one of ${Object.keys(TARGETS).join(', ')}`);
  const dir = join(cache, target);
  const marker = join(dir, '.installed');
  const wanted = nativePackages().join(' ');
  if (existsSync(marker) && readFileSync(marker, 'utf8') === wanted) return join(dir, 'node_modules');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `cvw-native-${target}`, private: true }));
  const platform = [`--os=${t.os}`, `--cpu=${t.cpu}`, ...(t.libc ? [`--libc=${t.libc}`] : [])];
  // Asynchronous: a caller (the packaging test) keeps its event loop while npm downloads.
  await promisify(execFile)(
    process.platform === 'win32' ? 'npm.cmd' : 'npm',
    ['install', '--no-save', '--no-package-lock', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error', ...platform, ...nativePackages()],
    { cwd: dir, shell: process.platform === 'win32', maxBuffer: 16 * 1048576 },
  );
  writeFileSync(marker, wanted);
  return join(dir, 'node_modules');
}

/** The run-time closure of the native packages: names of installed packages, install-only ones left out. */
function runtimeClosure(nodeModules, roots) {
  const seen = new Set();
  const visit = (name) => {
    if (seen.has(name) || INSTALL_ONLY.has(name)) return;
    const pkgJson = join(nodeModules, name, 'package.json');
    if (!existsSync(pkgJson)) return; // an optional dependency of another platform
    seen.add(name);
    const pkg = JSON.parse(readFileSync(pkgJson, 'utf8'));
    for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) visit(dep);
  };
  for (const name of roots) visit(name);
  return [...seen].sort();
}

/**
 * Copy the target's native parts from `nodeModules` (fetchNative) into `dest` (a node_modules
 * folder): the run-time closure, onnxruntime-node's bin/ and webgpu's dist/ cut to the target.
 */
export function assembleNative(target, nodeModules, dest) {
  const t = TARGETS[target];
  rmSync(dest, { recursive: true, force: true });
  const ort = t.ort && join(nodeModules, 'onnxruntime-node', 'bin', 'napi-v6', t.ort);
  if (ort && !existsSync(ort)) throw new Error(`${target}: onnxruntime-node has no ${ort}: did its layout change?`);
  const roots = nativePackages().map((spec) => spec.slice(0, spec.lastIndexOf('@'))).filter((name) => name !== 'onnxruntime-node' || ort);
  for (const name of runtimeClosure(nodeModules, roots)) {
    const skip = new Set((NOT_AT_RUN_TIME[name] ?? []).map((f) => join(nodeModules, name, f)));
    if (name === 'onnxruntime-node') skip.add(join(nodeModules, name, 'bin'));
    if (name === 'webgpu') skip.add(join(nodeModules, name, 'dist'));
    cpSync(join(nodeModules, name), join(dest, name), { recursive: true, filter: (src) => !skip.has(src) });
  }
  if (ort) cpSync(ort, join(dest, 'onnxruntime-node', 'bin', 'napi-v6', t.ort), { recursive: true });
  cpSync(join(nodeModules, 'webgpu', 'dist', t.dawn), join(dest, 'webgpu', 'dist', t.dawn), { recursive: true });
  return dest;
}

/** Files under `dir`, relative, with '/' separators. */
export function listFiles(dir) {
  const out = [];
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(relative(dir, p).split('\\').join('/'));
    }
  };
  walk(dir);
  return out.sort();
}

const ELF_MACHINE = { 0x3e: 'x64', 0xb7: 'arm64', 0x28: 'arm', 0x03: 'ia32' };
const MACHO_CPU = { 0x01000007: 'x64', 0x0100000c: 'arm64' };
const PE_MACHINE = { 0x8664: 'x64', 0xaa64: 'arm64', 0x14c: 'ia32' };

/**
 * The executable format and architectures of a binary from its header: ELF (e_machine),
 * Mach-O (64-bit cputype, or each slice of a universal binary), PE (COFF machine); undefined for
 * anything else.
 */
export function binaryKind(file) {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(4096);
    const n = readSync(fd, head, 0, head.length, 0);
    const b = head.subarray(0, n);
    if (n >= 20 && b.readUInt32BE(0) === 0x7f454c46) return { format: 'elf', archs: [ELF_MACHINE[b.readUInt16LE(18)] ?? `machine 0x${b.readUInt16LE(18).toString(16)}`] };
    if (n >= 8 && b.readUInt32LE(0) === 0xfeedfacf) return { format: 'macho', archs: [MACHO_CPU[b.readUInt32LE(4)] ?? `cpu 0x${b.readUInt32LE(4).toString(16)}`] };
    if (n >= 8 && b.readUInt32BE(0) === 0xcafebabe) {
      const archs = [];
      for (let i = 0, count = b.readUInt32BE(4); i < count && 8 + 20 * i + 4 <= n; i++) archs.push(MACHO_CPU[b.readUInt32BE(8 + 20 * i)] ?? `cpu 0x${b.readUInt32BE(8 + 20 * i).toString(16)}`);
      return { format: 'macho', archs };
    }
    if (n >= 0x40 && b.readUInt16LE(0) === 0x5a4d) {
      const pe = b.readUInt32LE(0x3c);
      if (pe + 6 <= n && b.readUInt32BE(pe) === 0x50450000) return { format: 'pe', archs: [PE_MACHINE[b.readUInt16LE(pe + 4)] ?? `machine 0x${b.readUInt16LE(pe + 4).toString(16)}`] };
    }
    return undefined;
  } finally {
    closeSync(fd);
  }
}

const BINARY = /\.(node|so(\.\d+)*|dylib|dll)$/;

/**
 * What is wrong with a node_modules tree made for `target` (assembleNative): a native part
 * missing, or a binary of another format or architecture. Empty when it is right.
 */
export function checkNative(target, dir) {
  const t = TARGETS[target];
  const files = listFiles(dir);
  const problems = [];
  const required = [
    `@img/sharp-${t.sharp}/lib/sharp-${t.sharp}.node`,
    `webgpu/dist/${t.dawn}/dawn.node`,
    ...(t.ort ? [`onnxruntime-node/bin/napi-v6/${t.ort}/onnxruntime_binding.node`] : []),
  ];
  for (const f of required) if (!files.includes(f)) problems.push(`${f} is missing`);
  // libvips: its own package, except on Windows, where sharp-win32-x64 carries the DLLs itself.
  const libvips = t.os === 'win32' ? `@img/sharp-${t.sharp}/lib/libvips` : `@img/sharp-libvips-${t.sharp}/lib/`;
  if (!files.some((f) => f.startsWith(libvips) && BINARY.test(f))) problems.push(`${libvips}: no libvips library`);
  for (const f of files) {
    if (!BINARY.test(f)) continue;
    const kind = binaryKind(join(dir, f));
    if (!kind) problems.push(`${f}: not an executable binary`);
    else if (kind.format !== t.format || !kind.archs.includes(t.arch)) problems.push(`${f}: ${kind.format} ${kind.archs.join('+')}, expected ${t.format} ${t.arch}`);
  }
  const ortBin = join(dir, 'onnxruntime-node', 'bin', 'napi-v6');
  if (existsSync(ortBin)) for (const f of listFiles(ortBin)) if (!t.ort || !f.startsWith(t.ort + '/')) problems.push(`onnxruntime-node/bin/napi-v6/${f}: another platform's binary`);
  return problems;
}

async function esbuild() {
  return import(join(REPO_ROOT, 'node_modules', 'esbuild', 'lib', 'main.js'));
}

/**
 * A folder to run `vsce package` in: the manifest files and the bundles of scripts/bundles.mjs
 * (built into the stage, never taken from dist/, so a `npm run build` meanwhile cannot swap files).
 */
export async function stageExtension(stage, { log = () => {} } = {}) {
  const { bundleOptions } = await import(join(REPO_ROOT, 'scripts', 'bundles.mjs'));
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(stage, { recursive: true });
  for (const f of MANIFEST_FILES) if (existsSync(join(REPO_ROOT, f))) cpSync(join(REPO_ROOT, f), join(stage, f), { recursive: true });
  const { build } = await esbuild();
  log('bundling the extension (scripts/bundles.mjs)');
  for (const options of bundleOptions(REPO_ROOT, join(stage, 'dist'))) await build({ ...options, logLevel: 'error' });
  if (!existsSync(join(stage, 'dist', 'extension.js'))) throw new Error('the extension bundle was not produced (is src/extension/extension.ts there?)');
  return stage;
}

/** `vsce package` of a staged folder into `out` (`target` undefined: the universal VSIX). */
export function vscePackage(stage, out, target) {
  // --no-dependencies: the bundles carry the JavaScript, dist/node_modules the native parts (.vscodeignore).
  execFileSync(
    process.execPath,
    [join(REPO_ROOT, 'node_modules', '@vscode', 'vsce', 'vsce'), 'package', '--no-dependencies', '--skip-license', '--allow-missing-repository', ...(target ? ['--target', target] : []), '--out', out],
    { cwd: stage, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  return out;
}

/**
 * Build the VSIXs of `targets` (names of TARGETS, or 'universal') into `outDir`; the bundles are
 * made once. Returns [{ target, vsix, bytes }].
 */
export async function packageVsix({ targets, outDir, cache = join(outDir, 'cache'), log = (line) => process.stderr.write(line + '\n') }) {
  const base = await stageExtension(join(outDir, 'stage', 'base'), { log });
  const version = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).version;
  const made = [];
  for (const target of targets) {
    const stage = join(outDir, 'stage', target);
    rmSync(stage, { recursive: true, force: true });
    cpSync(base, stage, { recursive: true });
    const native = { target, modules: [] };
    if (target !== 'universal') {
      log(`${target}: fetching ${nativePackages().join(', ')} from npm (--os ${TARGETS[target]?.os} --cpu ${TARGETS[target]?.cpu})`);
      const dest = assembleNative(target, await fetchNative(target, cache), join(stage, 'dist', 'node_modules'));
      const problems = checkNative(target, dest);
      if (problems.length) throw new Error(`${target}: the native parts are wrong:\n  ${problems.join('\n  ')}`);
      native.modules = ['sharp', 'onnxruntime-node', 'webgpu'].filter((m) => existsSync(join(dest, m)));
    }
    // What this VSIX carries, for the error that names a missing native part.
    writeFileSync(join(stage, 'dist', 'native.json'), JSON.stringify(native, null, 2) + '\n');
    const vsix = join(outDir, `cv-workbench-${target === 'universal' ? '' : target + '-'}${version}.vsix`);
    log(`${target}: vsce package${target === 'universal' ? '' : ' --target ' + target}`);
    vscePackage(stage, vsix, target === 'universal' ? undefined : target);
    const bytes = statSync(vsix).size;
    log(`${target}: ${vsix} (${(bytes / 1048576).toFixed(1)} MiB)`);
    made.push({ target, vsix, bytes });
  }
  return made;
}

function parseArgs(argv) {
  const targets = [];
  let outDir = join(REPO_ROOT, 'vsix');
  let cache;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--all') targets.push(...Object.keys(TARGETS), 'universal');
    else if (a === '--universal') targets.push('universal');
    else if (a === '--target') targets.push(...String(argv[++i] ?? '').split(','));
    else if (a === '--out') outDir = resolve(argv[++i]);
    else if (a === '--cache') cache = resolve(argv[++i]);
    else throw new Error(`unknown argument ${a}: expected --target <${Object.keys(TARGETS).join('|')}>, --universal, --all, --out <dir>, --cache <dir>`);
  }
  for (const t of targets) if (t !== 'universal' && !TARGETS[t]) throw new Error(`--target ${t}: expected one of ${Object.keys(TARGETS).join(', ')}`);
  if (!targets.length) throw new Error('nothing to package: give --target <platform> (repeatable), --universal or --all');
  return { targets: [...new Set(targets)], outDir, cache };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const { targets, outDir, cache } = parseArgs(process.argv.slice(2));
    const made = await packageVsix({ targets, outDir, ...(cache ? { cache } : {}) });
    for (const m of made) process.stdout.write(`${m.vsix}\t${(m.bytes / 1048576).toFixed(1)} MiB\n`);
  } catch (err) {
    process.stderr.write(`package-vsix: ${err.message}\n`);
    process.exitCode = 1;
  }
}
