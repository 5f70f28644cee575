/**
 * Errors about one config key found while a run starts (a `pretrained` or `load_from` file that does
 * not fit the model): with the key's place known they are config problems, printed
 * `file:line:column: error: message` by the CLI and shown on that line by the editor (the failed
 * run's crash diagnostics); without it (a config object given to the API) a plain UserError.
 */
import { ConfigError, UserError, type Location } from '../core/problems';

export interface ConfigLocator {
  configLocation?(path: string): Location | undefined;
}

export function errorAtConfigKey(at: ConfigLocator, path: string, message: string, unlocated: Error = new UserError(message)): Error {
  const where = at.configLocation?.(path);
  return where ? new ConfigError([{ severity: 'error', message, file: where.file, range: where.range, path }]) : unlocated;
}
