/**
 * Once before every test file: build the oneDNN addon where oneDNN's development files are
 * installed (scripts/setup-test-env.sh installs them), so that every file's wasm-ort engine runs
 * its convolutions on the same kernels, whichever file would otherwise have built it first.
 */
import { buildOnednn, onednnAvailability } from '../src/engine/onednn';

export default function setup(): void {
  if (onednnAvailability().installed) buildOnednn((m) => process.stderr.write(`test setup: ${m}\n`));
}
