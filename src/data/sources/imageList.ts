/**
 * ImageList: a text file of `path [label]` lines, paths relative to a root folder (EasyCV's
 * ClsSourceImageList, mmpretrain's ann_file). Blank lines and lines starting with # are ignored;
 * a path may contain spaces when a label follows it.
 */
import * as path from 'node:path';
import { z } from 'zod';
import { register } from '../../core/registry';
import { UserError } from '../../core/problems';
import type { DataSource, OpenContext, SourceFactory, SourceItem } from '../types';
import { channelsOf, classesParam, colorParam, loadClasses, readText } from './common';

export const imageListParams = z.strictObject({
  list: z.string().min(1).describe('Text file with one `path [label]` line per image'),
  root: z.string().optional().describe('Folder the paths are relative to (default: the folder of the list file)'),
  classes: classesParam.describe('Class names in label order, or a file of names (default: "0", "1", ... up to the largest label)'),
  color: colorParam,
});

export class ImageListSource implements DataSource {
  constructor(
    private readonly files: string[],
    private readonly labels: Int32Array | undefined,
    private readonly lines: Int32Array,
    private readonly listFile: string,
    readonly classes: string[] | undefined,
    readonly channels: number,
  ) {}

  get length(): number {
    return this.files.length;
  }

  item(index: number): SourceItem {
    return {
      image: { kind: 'file', path: this.files[index] },
      label: this.labels ? this.labels[index] : undefined,
      where: `${this.listFile}:${this.lines[index]}`,
    };
  }
}

const MAX_UNNAMED_CLASSES = 1_000_000;

export function openImageList(listFile: string, root: string, classes: string[] | undefined, channels: number, ctx: Pick<OpenContext, 'skipCorrupt' | 'skip'>): ImageListSource {
  const text = readText(listFile, 'image list');
  const files: string[] = [];
  const labels: number[] = [];
  const lines: number[] = [];
  let labelled: boolean | undefined;
  const bad = (lineNo: number, reason: string) => {
    const where = `${listFile}:${lineNo}`;
    if (!ctx.skipCorrupt) throw new UserError(`${where}: ${reason}`);
    ctx.skip(where, reason);
  };
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    const lineNo = i + 1;
    if (!line || line.startsWith('#')) return;
    const m = /^(.*\S)\s+(\S+)$/.exec(line);
    const last = m?.[2];
    let file = line;
    let label: number | undefined;
    if (m && last !== undefined && /^[+-]?\d+$/.test(last)) {
      file = m[1];
      label = Number(last);
    } else if (labelled) {
      return bad(lineNo, `expected "path label" with an integer label, got "${line.slice(0, 80)}"`);
    }
    if (labelled === undefined) labelled = label !== undefined;
    else if (!labelled && label !== undefined) return bad(lineNo, 'this line has a label but the lines above have none; label every line or none');
    // Without class names, labels name classes 0..max: a label in the millions is a typo, not a class.
    if (label !== undefined && !classes && label >= MAX_UNNAMED_CLASSES) {
      return bad(lineNo, `label ${label} is too large: without \`classes\` labels must be below ${MAX_UNNAMED_CLASSES.toLocaleString('en')}`);
    }
    if (label !== undefined && (label < 0 || (classes && label >= classes.length))) {
      return bad(lineNo, `label ${label} out of range: expected 0 to ${classes ? classes.length - 1 : 'the number of classes - 1'}${classes ? ` (${classes.length} classes)` : ''}`);
    }
    files.push(path.resolve(root, file));
    if (label !== undefined) labels.push(label);
    lines.push(lineNo);
  });
  if (!files.length) throw new UserError(`${listFile}: no image lines in it (expected "path [label]" per line)`);
  const names = labelled ? (classes ?? Array.from({ length: labels.reduce((a, b) => Math.max(a, b), 0) + 1 }, (_, k) => String(k))) : classes;
  return new ImageListSource(files, labelled ? Int32Array.from(labels) : undefined, Int32Array.from(lines), listFile, names, channels);
}

register('source', {
  type: 'ImageList',
  description: 'A text file listing images as `path [label]` lines, relative to a root folder',
  paper: 'EasyCV ClsSourceImageList; mmpretrain annotation files',
  params: imageListParams,
  build: (p): SourceFactory => ({
    type: 'ImageList',
    async open(ctx) {
      const list = ctx.resolvePath(p.list);
      const root = p.root !== undefined ? ctx.resolvePath(p.root) : path.dirname(list);
      return openImageList(list, root, loadClasses(p.classes, ctx), channelsOf(p.color), ctx);
    },
  }),
});
