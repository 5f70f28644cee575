import * as fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { FileOutputSource } from '../../src/extension/runs/outputSource';
import { tempFiles } from '../helpers/tmp';

const t = tempFiles({});
afterAll(() => t.cleanup());

describe("a run's output in a terminal", () => {
  it('shows the last MiB of a long log from a line start, says what it left out, then follows it', async () => {
    // Show Output read a 48 MB log whole: 16.7 million strings, 1.6 GB of the extension host.
    const file = t.file('output.log');
    const lines = Array.from({ length: 300_000 }, (_, i) => `iter ${i} loss 0.5`);
    fs.writeFileSync(file, lines.map((l) => `${l}\n`).join(''));
    const size = fs.statSync(file).size;
    const shown: string[] = [];
    const sub = new FileOutputSource(file).onOutput((text) => shown.push(text));
    try {
      expect(shown[0]).toBe(`--- the first ${((size - (1 << 20)) / (1 << 20)).toFixed(1)} MiB of ${file} are not shown ---\n`);
      const tail = shown.slice(1).join('').split('\n').slice(0, -1);
      expect(tail.length).toBeGreaterThan(40_000);
      expect(tail.join('\n').length).toBeLessThanOrEqual(1 << 20);
      expect(tail).toEqual(lines.slice(lines.length - tail.length));
      fs.appendFileSync(file, 'appended\n');
      await new Promise((r) => setTimeout(r, 600));
      expect(shown[shown.length - 1]).toBe('appended\n');
    } finally {
      sub.dispose();
    }
  });

  it('shows a short log whole', () => {
    const file = t.file('short.log');
    fs.writeFileSync(file, 'a\nb\n');
    const shown: string[] = [];
    new FileOutputSource(file).onOutput((text) => shown.push(text)).dispose();
    expect(shown).toEqual(['a\nb\n']);
  });
});
