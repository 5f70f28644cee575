import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SAMPLE_CONFIG, SAMPLE_FILES, writeSampleWorkspace } from '../../src/templates/sampleWorkspace';
import { cvw } from '../helpers/cvw';
import { tempFiles } from '../helpers/tmp';

const REPO = path.join(__dirname, '..', '..');
const t = tempFiles({ 'configs/_base_/default_runtime.yaml': '# mine\n' });
afterAll(() => t.cleanup());

describe('the sample workspace (walkthrough)', () => {
  it('copies the samples and a config that validates there, keeping files already in the folder', async () => {
    const written = writeSampleWorkspace(REPO, t.dir);
    expect(written).toContain(SAMPLE_CONFIG);
    expect(written).toContain('data/fashion-mnist-sample/train-images-idx3-ubyte.gz');
    expect(written.filter((f) => f.startsWith('data/images-sample/')).length).toBe(fs.readdirSync(path.join(REPO, 'data/images-sample'), { recursive: true }).filter((f) => /\.(jpe?g|png)$/.test(String(f))).length);
    expect(written).not.toContain('configs/_base_/default_runtime.yaml');
    expect(fs.readFileSync(t.file('configs/_base_/default_runtime.yaml'), 'utf8')).toBe('# mine\n');
    expect(writeSampleWorkspace(REPO, t.dir)).toEqual([]);
    const r = await cvw('validate', t.file(SAMPLE_CONFIG));
    expect(r.code, r.out + r.err).toBe(0);
  });

  it('is in every VSIX (scripts/package-vsix.mjs and .vscodeignore)', async () => {
    // @ts-expect-error: a JavaScript build script without types
    const { MANIFEST_FILES } = (await import('../../scripts/package-vsix.mjs')) as { MANIFEST_FILES: string[] };
    const ignore = fs.readFileSync(path.join(REPO, '.vscodeignore'), 'utf8').split('\n');
    for (const f of SAMPLE_FILES) {
      expect(MANIFEST_FILES).toContain(f);
      expect(ignore.some((l) => l === `!${f}` || l === `!${f}/**`), f).toBe(true);
    }
  });

  it('is what the walkthrough steps point to: commands contributed, media present', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8'));
    const commands = new Set(pkg.contributes.commands.map((c: { command: string }) => c.command));
    const [walkthrough] = pkg.contributes.walkthroughs;
    expect(walkthrough.steps.map((s: { id: string }) => s.id)).toEqual(['sample', 'browse', 'train', 'dashboard', 'report']);
    for (const step of walkthrough.steps) {
      expect(fs.existsSync(path.join(REPO, step.media.markdown)), step.media.markdown).toBe(true);
      for (const [, id] of String(step.description).matchAll(/\(command:([\w.]+)\)/g)) expect(commands.has(id), id).toBe(true);
      for (const ev of step.completionEvents) expect(commands.has(ev.replace(/^onCommand:/, '')), ev).toBe(true);
    }
  });
});
