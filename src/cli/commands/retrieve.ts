import { FeatureExtractor } from '../../export/predict';
import { buildIndex, listImages, nearest } from '../../export/retrieve';
import { MAX_THREADS } from '../../engine/configSection';
import { UsageError, type CommandSpec } from '../args';

export const retrieveCommand: CommandSpec = {
  name: 'retrieve',
  summary: 'Find the images of a folder most similar to a query image (cosine similarity of the model\'s L2-normalised features)',
  positionals: [{ name: 'model', description: 'An .onnx file, an exported TF.js folder, a run directory or a .safetensors checkpoint' }],
  options: [
    { name: 'index', type: 'list', valueName: 'folder', description: 'Folders (or image files) to search; repeat or comma-separate for several' },
    { name: 'query', type: 'string', valueName: 'image', description: 'The query image' },
    { name: 'k', short: 'k', type: 'number', default: 5, description: 'Neighbours to show', range: { integer: true, min: 1 } },
    { name: 'json', type: 'boolean', description: 'Print {query, neighbours: [{rank, score, source}], skipped} as JSON' },
    { name: 'batch-size', short: 'b', type: 'number', default: 32, description: 'Images per forward pass', range: { integer: true, min: 1 } },
    { name: 'threads', type: 'number', description: 'onnxruntime threads (default: one per core)', range: { integer: true, min: 1, max: MAX_THREADS } },
  ],
  details: 'Index images that cannot be read are skipped and listed on stderr.',
  async run(args) {
    const index = args.options.index as string[] | undefined;
    const query = args.options.query as string | undefined;
    if (!index?.length) throw new UsageError('missing --index <folder>: the images to search');
    if (!query) throw new UsageError('missing --query <image>: the image to match');
    const k = args.options.k as number;
    const extractor = new FeatureExtractor(args.positionals[0], { batchSize: Number(args.options['batch-size']), threads: args.options.threads as number | undefined });
    try {
      const q = await extractor.predict(query);
      const built = await buildIndex(extractor, listImages(index));
      const neighbours = nearest(built, q, k);
      for (const s of built.skipped) process.stderr.write(`skipped ${s.error}\n`);
      if (args.options.json) {
        process.stdout.write(JSON.stringify({ query, neighbours, skipped: built.skipped }, null, 2) + '\n');
      } else {
        for (const n of neighbours) process.stdout.write(`${String(n.rank).padStart(3)}  ${n.score.toFixed(4)}  ${n.source}\n`);
      }
      return 0;
    } finally {
      await extractor.dispose();
    }
  },
};
