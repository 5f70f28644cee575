import { describe, expect, it } from 'vitest';
import { explainEngineFailure } from '../../src/engine/failure';
import { UserError } from '../../src/core/problems';

describe('explainEngineFailure', () => {
  it('turns a wasm abort or out-of-bounds access into a user error that names memory and the iteration', () => {
    const oob = explainEngineFailure(new WebAssembly.RuntimeError('memory access out of bounds'), 7) as Error;
    expect(oob).toBeInstanceOf(UserError);
    expect(oob.message).toMatch(/^the wasm engine failed at iteration 7 \(memory access out of bounds\), most often because its memory ran out/);
    const abort = explainEngineFailure(new Error('Aborted(). Build with -sASSERTIONS for more info.')) as Error;
    expect(abort).toBeInstanceOf(UserError);
    expect(abort.message).toMatch(/^the wasm engine failed \(Aborted\(\)\), .*batch_size/);
  });

  it('passes every other error through unchanged', () => {
    const other = new TypeError('x is undefined');
    expect(explainEngineFailure(other, 3)).toBe(other);
  });
});
