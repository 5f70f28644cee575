/**
 * Image retrieval by cosine similarity of L2-normalised embeddings: index a folder, then find the
 * nearest images of a query — the image-matching use case self-supervised features serve.
 * A brute-force scan: exact, and fast enough for tens of thousands of images.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../core/problems';
import { IMAGE_EXTENSIONS } from '../data/formats';
import type { FeatureExtractor } from './predict/featureExtractor';
import type { ImageInput } from './predict/images';

/** The data sources' image files (data/formats.ts) and AVIF, which sharp decodes for prediction. */
const RETRIEVABLE = [...IMAGE_EXTENSIONS, '.avif'];

/** Image files of the given files and folders (folders recursively, sorted; files as given). */
export function listImages(targets: string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      // Regular files only: a FIFO named x.png would block the reader (a link is followed and checked when read).
      else if ((e.isFile() || e.isSymbolicLink()) && RETRIEVABLE.includes(path.extname(e.name).toLowerCase())) out.push(p);
    }
  };
  for (const t of targets) {
    if (!fs.existsSync(t)) throw new UserError(`${t}: no such image file or folder`);
    if (fs.statSync(t).isDirectory()) walk(t);
    else out.push(t);
  }
  return out;
}

export interface IndexedImage {
  source: string;
  embedding: Float32Array;
}

export interface ImageIndex {
  entries: IndexedImage[];
  /** Images that could not be read, with why. */
  skipped: Array<{ source: string; error: string }>;
  dim: number;
}

/** Embed every image (bad ones are skipped and listed). */
export async function buildIndex(extractor: FeatureExtractor, images: string[]): Promise<ImageIndex> {
  if (!images.length) throw new UserError('the index has no images');
  const settled = await extractor.predictSettled(images);
  const entries: IndexedImage[] = [];
  const skipped: ImageIndex['skipped'] = [];
  for (const s of settled) {
    if (s.error !== undefined) skipped.push({ source: s.source, error: s.error });
    else entries.push({ source: s.source, embedding: s.result });
  }
  if (!entries.length) throw new UserError(`none of the ${images.length} index images could be read (first: ${skipped[0]?.error})`);
  return { entries, skipped, dim: entries[0].embedding.length };
}

export interface Neighbour {
  source: string;
  /** Cosine similarity, in [-1, 1]. */
  score: number;
  rank: number;
}

/** The k entries most similar to `query` (an L2-normalised embedding), best first. */
export function nearest(index: ImageIndex, query: Float32Array, k: number): Neighbour[] {
  if (query.length !== index.dim) throw new UserError(`the query embedding has ${query.length} values but the index has ${index.dim}`);
  const scored = index.entries.map((e) => {
    let dot = 0;
    for (let i = 0; i < query.length; i++) dot += query[i] * e.embedding[i];
    return { source: e.source, score: dot };
  });
  scored.sort((a, b) => b.score - a.score || a.source.localeCompare(b.source));
  return scored.slice(0, k).map((s, i) => ({ ...s, rank: i + 1 }));
}

/** Index `folder` and return the k nearest images of `query`. */
export async function retrieve(extractor: FeatureExtractor, options: { index: string[]; query: ImageInput; k?: number }): Promise<{ neighbours: Neighbour[]; index: ImageIndex }> {
  const index = await buildIndex(extractor, listImages(options.index));
  const q = await extractor.predict(options.query);
  return { neighbours: nearest(index, q, options.k ?? 5), index };
}
