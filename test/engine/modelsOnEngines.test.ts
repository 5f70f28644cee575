/**
 * The toolkit's own backbones (small variants) take one training step with the same loss and
 * gradients on wasm and wasm-ort as on the cpu backend: ResNet (convolutions, batch norm,
 * residual adds), MobileNetV2 (depthwise convolutions, ReLU6), a Vision Transformer (matrix
 * products, layer norm, softmax attention, GELU), a Swin Transformer (shifted windows) and a
 * ConvNeXt (7x7 depthwise convolutions, layer norm over NHWC maps, layer scale; V2's global
 * response normalisation).
 *
 * Tolerance per parameter gradient: max |g - g_cpu| <= 2e-4 * max(1, max |g_cpu|).
 */
import { describe, expect, it } from 'vitest';
import { maxAbsDiff } from './kernelHarness';
import { BACKBONES, modelStep as step } from './modelStep';

describe('one training step of the toolkit backbones on every engine', () => {
  for (const [name, { backbone, train }] of Object.entries(BACKBONES)) {
    it(`${name}: wasm and wasm-ort match the cpu backend`, async () => {
      const reference = await step('cpu', backbone, train);
      for (const engine of ['wasm', 'wasm-ort'] as const) {
        const got = await step(engine, backbone, train);
        expect(Math.abs(got.loss - reference.loss), `${engine} loss`).toBeLessThan(1e-4 * Math.max(1, Math.abs(reference.loss)));
        for (const [param, want] of reference.grads) {
          const { diff, scale } = maxAbsDiff(got.grads.get(param)!, want);
          expect(diff, `${engine} ${param}`).toBeLessThanOrEqual(2e-4 * Math.max(1, scale));
        }
      }
    });
  }
});
