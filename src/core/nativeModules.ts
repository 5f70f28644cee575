/**
 * The native packages (platform binaries the npm registry serves for each platform) and the error
 * that names one that cannot be loaded. A missing native part is a gap in the installation, not
 * bad data: the data loader stops on it once instead of blaming (or skipping) every image.
 *
 * Where they come from: the workspace's node_modules (`npm install cv-workbench`), or the platform
 * VSIX of the extension, which carries them in dist/node_modules beside the bundled CLI
 * (scripts/package-vsix.mjs writes dist/native.json to say which VSIX it is).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from './problems';
import { packageRoot } from './packageInfo';

/** What each native package is for, as the error says it. */
export const NATIVE_MODULES = {
  sharp: 'decoding and encoding images with libvips: JPEG, PNG and WebP in image folders, COCO and TFRecord data, reports and predictions',
  'onnxruntime-node': "the wasm-ort engine's native CPU kernels, checks of exported .onnx files and .onnx predictions",
  webgpu: "the webgpu engine's Dawn (dawn.node), which runs tfjs' WebGPU backend on the GPU",
} as const;

export type NativeModule = keyof typeof NATIVE_MODULES;

/** The platforms with a VSIX of their own (scripts/package-vsix.mjs TARGETS). */
export const VSIX_PLATFORMS = ['linux-x64', 'linux-arm64', 'darwin-x64', 'darwin-arm64', 'win32-x64'];

/** What the installed package says about itself: its version, the pinned native versions, the VSIX it came in. */
function installation(): { version?: string; pinned: Record<string, string>; vsix?: string } {
  try {
    const root = packageRoot();
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version?: string; dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> };
    let vsix: string | undefined;
    try {
      vsix = (JSON.parse(fs.readFileSync(path.join(root, 'dist', 'native.json'), 'utf8')) as { target?: string }).target;
    } catch {
      vsix = undefined;
    }
    return { version: pkg.version, pinned: { ...pkg.optionalDependencies, ...pkg.dependencies }, vsix };
  } catch {
    return { pinned: {} };
  }
}

/** How to get `module` here: the right VSIX, or npm. */
export function nativeModuleHint(module: NativeModule, platform = `${process.platform}-${process.arch}`): string {
  const { version, pinned, vsix } = installation();
  const npm = `run \`npm install --save-exact ${module}${pinned[module] ? '@' + pinned[module] : ''}\` in the workspace`;
  const hasVsix = VSIX_PLATFORMS.includes(platform);
  const file = `cv-workbench-${platform}${version ? '-' + version : ''}.vsix`;
  if (!hasVsix) return `no VSIX of the extension carries it for ${platform}: ${npm}`;
  const lead = vsix === 'universal' ? `this is the universal VSIX of the extension, which has no native parts: install the one for ${platform} (${file})` : vsix && vsix !== platform ? `this is the VSIX for ${vsix}, not for ${platform}: install ${file}` : `install the extension's VSIX for ${platform} (${file})`;
  return `${lead}, or ${npm}`;
}

/** A native package that cannot be loaded: which, what for, why, and how to get it. */
export class NativeModuleError extends UserError {
  constructor(
    readonly module: NativeModule,
    readonly detail: string,
  ) {
    super(`${module} cannot be loaded (${detail}); it is needed for ${NATIVE_MODULES[module]}. This is a missing part of the installation, not bad data: ${nativeModuleHint(module)}`);
    this.name = 'NativeModuleError';
  }
}

/** `load()` (a literal `require`, so that bundlers keep the package external), its failure as a NativeModuleError. */
export function requireNative<T>(module: NativeModule, load: () => T): T {
  try {
    return load();
  } catch (err) {
    // The first line: Node's "Cannot find module 'sharp'" or sharp's "Could not load the "sharp" module using the linux-x64 runtime".
    const cause = String((err as Error)?.message ?? err).split('\n')[0].trim();
    throw new NativeModuleError(module, cause);
  }
}
