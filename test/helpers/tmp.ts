import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** A fresh temporary folder with the given files (path -> text); removed by the returned cleanup. */
export function tempFiles(files: Record<string, string>): { dir: string; file(name: string): string; cleanup(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cvw-test-'));
  for (const [name, text] of Object.entries(files)) {
    const p = path.join(dir, name);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, text);
  }
  return { dir, file: (name) => path.join(dir, name), cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** 1-based `line:column` of a problem, as the CLI prints it. */
export function lc(p: { range: { start: { line: number; character: number } } }): string {
  return `${p.range.start.line + 1}:${p.range.start.character + 1}`;
}
