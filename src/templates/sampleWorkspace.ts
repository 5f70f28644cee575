/**
 * The sample workspace (the walkthrough's first step, "Create Sample Workspace"): the committed
 * samples the extension carries (Fashion-MNIST, a small JPEG/PNG image folder) and a config that
 * trains on the first, so that an empty folder gets to a first finished run with nothing
 * downloaded. scripts/package-vsix.mjs puts these paths into every VSIX.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** What the sample workspace holds, relative to the extension (and to the workspace: the same paths). */
export const SAMPLE_FILES = ['data/fashion-mnist-sample', 'data/images-sample', 'configs/_base_', 'configs/classification/resnet18_fashion_mnist_sample.yaml'];

/** The config the walkthrough trains. */
export const SAMPLE_CONFIG = 'configs/classification/resnet18_fashion_mnist_sample.yaml';

/**
 * Copy the samples from `extensionRoot` into `folder`; files already there are kept (a second
 * run, or a user's own file of that name). Returns the paths written, relative to `folder`.
 */
export function writeSampleWorkspace(extensionRoot: string, folder: string): string[] {
  const written: string[] = [];
  for (const entry of SAMPLE_FILES) {
    const src = path.join(extensionRoot, entry);
    if (!fs.existsSync(src)) throw new Error(`the extension has no ${entry} (${src}): reinstall it`);
    fs.cpSync(src, path.join(folder, entry), {
      recursive: true,
      force: false,
      errorOnExist: false,
      filter: (from) => {
        const to = path.join(folder, path.relative(extensionRoot, from));
        if (fs.statSync(from).isFile() && !fs.existsSync(to)) written.push(path.relative(folder, to).split(path.sep).join('/'));
        return true;
      },
    });
  }
  return written;
}

