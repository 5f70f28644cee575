/**
 * ImageFolder: one sub-folder per class (torchvision's ImageFolder layout, classes sorted by
 * name), or an unlabelled folder of images for self-supervised pre-training.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { register } from '../../core/registry';
import { UserError } from '../../core/problems';
import type { DataSource, SourceFactory, SourceItem } from '../types';
import { IMAGE_EXTENSIONS } from '../formats';
import { channelsOf, classesParam, colorParam, isFolderEntry, listImages, loadClasses, requireDir } from './common';

export const imageFolderParams = z.strictObject({
  root: z.string().min(1).describe('The folder: one sub-folder of images per class, or images anywhere below it when unlabelled'),
  labelled: z
    .union([z.boolean(), z.literal('auto')])
    .default('auto')
    .describe('true: one sub-folder per class; false: every image below root, no labels; auto: labelled when root has sub-folders'),
  classes: classesParam.describe('Class sub-folders to use, in label order (default: every sub-folder, sorted by name)'),
  color: colorParam,
});

export class ImageFolderSource implements DataSource {
  constructor(
    readonly root: string,
    private readonly files: string[],
    private readonly labels: Int32Array | undefined,
    readonly classes: string[] | undefined,
    readonly channels: number,
  ) {}

  get length(): number {
    return this.files.length;
  }

  item(index: number): SourceItem {
    const file = this.files[index];
    return { image: { kind: 'file', path: file }, label: this.labels ? this.labels[index] : undefined, where: file };
  }
}

/** Open a folder as a source (also used by `cvw data` for a bare folder path). */
export function openImageFolder(root: string, options: { labelled?: boolean | 'auto'; classes?: string[]; channels?: number } = {}): ImageFolderSource {
  requireDir(root, 'image folder');
  const subdirs = fs
    .readdirSync(root, { withFileTypes: true })
    .filter((e) => isFolderEntry(e, root) && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
  const labelled = options.labelled === 'auto' || options.labelled === undefined ? subdirs.length > 0 : options.labelled;
  const channels = options.channels ?? 3;
  if (!labelled) {
    const files = listImages(root);
    if (!files.length) throw new UserError(`${root}: no image files found below it (looked for ${IMAGE_EXTENSIONS.join(', ')})`);
    return new ImageFolderSource(root, files, undefined, undefined, channels);
  }
  const classes = options.classes ?? subdirs;
  if (!classes.length) throw new UserError(`${root}: no class sub-folders; put the images of each class in a folder named after it, or set labelled: false`);
  const files: string[] = [];
  const labels: number[] = [];
  classes.forEach((name, label) => {
    const dir = path.join(root, name);
    if (!subdirs.includes(name)) throw new UserError(`${root}: class "${name}" has no sub-folder ${dir}`);
    for (const f of listImages(dir)) {
      files.push(f);
      labels.push(label);
    }
  });
  if (!files.length) throw new UserError(`${root}: the class sub-folders hold no image files`);
  return new ImageFolderSource(root, files, Int32Array.from(labels), classes, channels);
}

register('source', {
  type: 'ImageFolder',
  description: 'A folder of images: one sub-folder per class, or unlabelled',
  paper: 'torchvision ImageFolder layout',
  params: imageFolderParams,
  build: (p): SourceFactory => ({
    type: 'ImageFolder',
    async open(ctx) {
      return openImageFolder(ctx.resolvePath(p.root), { labelled: p.labelled, classes: loadClasses(p.classes, ctx), channels: channelsOf(p.color) });
    },
  }),
});
