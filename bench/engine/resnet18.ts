/**
 * Training throughput of a CIFAR-style ResNet-18 (32x32, 10 classes): samples/s of a full step
 * (forward + backward + SGD update) on each engine, against PyTorch CPU running the same
 * architecture (bench/engine/resnet18_torch.py) in the same run, with a per-kernel time profile.
 *
 *   nice -n 10 node -r sucrase/register bench/engine/resnet18.ts \
 *     [--engines wasm-ort,wasm,cpu] [--batch 64] [--steps 3] [--cpu-batch 1] [--threads 2] [--no-torch]
 *
 * The same as `bench/engine/models.ts --model resnet18` with all three engines by default; see
 * there for how it measures.
 */
import { runBenchmark } from './models';

if (require.main === module) {
  runBenchmark({ model: 'resnet18', engines: 'wasm-ort,wasm,cpu' }).catch((err) => {
    process.stderr.write(String(err?.stack ?? err) + '\n');
    process.exit(1);
  });
}
