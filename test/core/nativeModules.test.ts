import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { NativeModuleError, nativeModuleHint, requireNative, VSIX_PLATFORMS } from '../../src/core/nativeModules';
import { describeItemError, DataError } from '../../src/data/errors';

const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string; dependencies: Record<string, string> };

describe('a native package that cannot be loaded', () => {
  it("is named with what it is for and how to get it, from Node's require error", () => {
    let err: unknown;
    try {
      requireNative('sharp', () => require('sharp-that-is-not-installed'));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NativeModuleError);
    const e = err as NativeModuleError;
    expect(e.module).toBe('sharp');
    // The first line of Node's message only (no require stack).
    expect(e.detail).toBe("Cannot find module 'sharp-that-is-not-installed'");
    expect(e.message).toMatch(/^sharp cannot be loaded \(Cannot find module 'sharp-that-is-not-installed'\); it is needed for decoding and encoding images with libvips: JPEG, PNG and WebP/);
    expect(e.message).toContain('not bad data');
    expect(e.message).toContain(`npm install --save-exact sharp@${pkg.dependencies.sharp}`);
    if (VSIX_PLATFORMS.includes(`${process.platform}-${process.arch}`)) expect(e.message).toContain(`cv-workbench-${process.platform}-${process.arch}-${pkg.version}.vsix`);
  });

  it('keeps the first line of a load failure that is not "not found" (sharp without its platform binary)', () => {
    const e = (() => {
      try {
        return requireNative('onnxruntime-node', () => {
          throw new Error('Could not load the "onnxruntime-node" binding\nPossible solutions: ...');
        });
      } catch (err) {
        return err as NativeModuleError;
      }
    })();
    expect(e.detail).toBe('Could not load the "onnxruntime-node" binding');
    expect(e.message).toContain("the wasm-ort engine's native CPU kernels");
    expect(e.message).toContain(`npm install --save-exact onnxruntime-node@${pkg.dependencies['onnxruntime-node']}`);
  });

  it('points to the right VSIX for the platform, or only to npm where no VSIX exists', () => {
    expect(nativeModuleHint('sharp', 'darwin-arm64')).toContain(`install the extension's VSIX for darwin-arm64 (cv-workbench-darwin-arm64-${pkg.version}.vsix), or run`);
    expect(nativeModuleHint('sharp', 'freebsd-x64')).toBe(`no VSIX of the extension carries it for freebsd-x64: run \`npm install --save-exact sharp@${pkg.dependencies.sharp}\` in the workspace`);
  });

  it('is not a bad item: describeItemError rethrows it, and still describes a DataError', () => {
    const missing = new NativeModuleError('sharp', "Cannot find module 'sharp'");
    expect(() => describeItemError(missing, 'a.jpg')).toThrow(missing);
    expect(describeItemError(new DataError('a.jpg', 'cannot decode'), 'x')).toEqual({ where: 'a.jpg', reason: 'cannot decode' });
  });

  it('lists the same platforms as the packaging script', async () => {
    // @ts-expect-error: a JavaScript build script without types
    const { TARGETS } = (await import('../../scripts/package-vsix.mjs')) as { TARGETS: Record<string, unknown> };
    expect(VSIX_PLATFORMS).toEqual(Object.keys(TARGETS));
  });
});
