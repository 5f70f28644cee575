/**
 * What a person types as extra arguments before a run ("--data.train.batch_size 8 --max-iters 20",
 * or the short "data.train.batch_size=8"), split into argv words as a shell would, and written back
 * for showing and storing.
 */

export class ArgumentsError extends Error {}

/** Split like a POSIX shell (single and double quotes, backslash escapes), without expansions. */
export function splitArgs(text: string): string[] {
  const out: string[] = [];
  let word: string | undefined;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < text.length && '"\\$`'.includes(text[i + 1])) word += text[++i];
      else word += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      word ??= '';
    } else if (c === '\\' && i + 1 < text.length) {
      word = (word ?? '') + text[++i];
    } else if (/\s/.test(c)) {
      if (word !== undefined) out.push(word);
      word = undefined;
    } else {
      word = (word ?? '') + c;
    }
  }
  if (quote) throw new ArgumentsError(`unterminated ${quote === '"' ? 'double' : 'single'} quote in: ${text}`);
  if (word !== undefined) out.push(word);
  return out;
}

/**
 * The argv words of `cvw train` options and dotted-key overrides typed by a person: shell words,
 * where a bare `key.path=value` (no leading dashes) means `--key.path value`.
 */
export function parseRunArgs(text: string): string[] {
  const words = splitArgs(text);
  const out: string[] = [];
  for (const w of words) {
    const m = /^([A-Za-z_][\w-]*(?:\.[\w-]+)+)=(.*)$/s.exec(w);
    if (m) out.push(`--${m[1]}`, m[2]);
    else out.push(w);
  }
  return out;
}

/** One word as a POSIX shell (bash, and splitArgs) reads it back: bare when it is plain, else single-quoted. */
export function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** argv words back to a line a shell (and splitArgs) reads the same. */
export function joinArgs(args: string[]): string {
  return args.map(shellWord).join(' ');
}
