/** Errors about one item of a dataset: they name where it came from, and can be skipped. */
import { UserError } from '../core/problems';
import { NativeModuleError } from '../core/nativeModules';

/**
 * A bad item (missing file, corrupt image, label out of range, damaged record). With
 * `data.skip_corrupt: true` the loader counts and skips it; otherwise the run stops with this message.
 */
export class DataError extends UserError {
  constructor(readonly where: string, readonly reason: string) {
    super(`${where}: ${reason}`);
    this.name = 'DataError';
  }
}

/**
 * `{where, reason}` of an error thrown while reading an item at `where`. A native package that
 * cannot be loaded (sharp) is no bad item: it is rethrown, to stop once with its own message.
 */
export function describeItemError(err: unknown, where: string): { where: string; reason: string } {
  if (err instanceof NativeModuleError) throw err;
  if (err instanceof DataError) return { where: err.where, reason: err.reason };
  const e = err as Error & { file?: string; offset?: number };
  return { where, reason: e?.message ?? String(err) };
}
