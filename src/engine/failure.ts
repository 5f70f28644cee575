import { UserError } from '../core/problems';

/**
 * The wasm engine reports a failed allocation as a bare "Aborted()" or "memory access out of
 * bounds" (its heap stops at 4 GB) and is unusable afterwards; say what that most often means
 * instead of an internal error.
 */
export function explainEngineFailure(err: unknown, iter?: number): unknown {
  if (!(err instanceof WebAssembly.RuntimeError) && !(err instanceof Error && /^Aborted\(/.test(err.message))) return err;
  const at = iter === undefined ? '' : ` at iteration ${iter}`;
  return new UserError(
    `the wasm engine failed${at} (${(err as Error).message.replace(/\. Build with.*$/, '')}), most often because its memory ran out (it holds at most 4 GB): ` +
      'make data.train.batch_size, the image size or the model (a head with fewer outputs) smaller (`cvw summary <config>` estimates what a step needs at a batch size)',
  );
}
