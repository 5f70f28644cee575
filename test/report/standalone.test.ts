/**
 * The standalone report embeds only files inside its run directory: report.json is data, and a
 * name in it that leads out (an absolute path, `..`, a symlink) must not put that file in a page
 * meant to be mailed around (issue 23.6).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readReportData } from '../../src/report/runFiles';
import { dataUri, writeStandaloneReport } from '../../src/report/standalone';
import { tempFiles } from '../helpers/tmp';

const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');
const SECRET = 'secret-outside-the-run-7f3a';
const gallery = (image: string, index: number) => ({ image, index, predicted: 0, predictedName: 'a', score: 1, topk: [] });
const images = ['report/images/ok.png', '/etc/hostname', '../../secret.txt', 'report/images/link.png', 'report/images/dir-link/secret.txt', 'report/images'];

const t = tempFiles({
  'secret.txt': SECRET,
  'work_dirs/cfg/run/run.json': JSON.stringify({ status: 'finished', config: 'cfg.yaml' }),
  'work_dirs/cfg/run/report/report.json': JSON.stringify({ version: 1, created: '', checkpoint: '', split: 'val', task: 'classification', gallery: images.map(gallery), seconds: 1 }),
  'bundle.js': 'console.log(1);\n',
});
const run = t.file('work_dirs/cfg/run');
fs.mkdirSync(path.join(run, 'report/images'), { recursive: true });
fs.writeFileSync(path.join(run, 'report/images/ok.png'), PNG);
fs.symlinkSync(t.file('secret.txt'), path.join(run, 'report/images/link.png'));
fs.symlinkSync(t.dir, path.join(run, 'report/images/dir-link'));
afterAll(() => t.cleanup());

describe('writeStandaloneReport', () => {
  it('inlines the images inside the run and nothing named outside it (absolute, ../, symlinks, folders)', () => {
    const html = fs.readFileSync(writeStandaloneReport(run, t.file('bundle.js'), t.file('out.html')), 'utf8');
    const data = JSON.parse(/<script type="application\/json" id="cvw-data">(.*?)<\/script>/s.exec(html)![1]) as { images: Record<string, string>; generated: { gallery: unknown[] } };
    expect(Object.keys(data.images)).toEqual(['report/images/ok.png']);
    expect(data.images['report/images/ok.png']).toBe(`data:image/png;base64,${PNG.toString('base64')}`);
    // The entries stay (the page says "missing image"); their files' bytes are nowhere in the page.
    expect(data.generated.gallery).toHaveLength(images.length);
    expect(html).not.toContain(Buffer.from(SECRET).toString('base64'));
    if (fs.existsSync('/etc/hostname')) {
      const host = fs.readFileSync('/etc/hostname');
      if (host.length) expect(html).not.toContain(host.toString('base64'));
    }
  });

  it('writes into the run through none of its links: a planted report.html is replaced, a linked report folder refused', () => {
    const victim = t.file('victim.txt');
    fs.writeFileSync(victim, 'keep');
    const page = path.join(run, 'report', 'report.html');
    fs.symlinkSync(victim, page);
    expect(writeStandaloneReport(run, t.file('bundle.js'))).toBe(page);
    expect(fs.readFileSync(victim, 'utf8')).toBe('keep');
    expect(fs.lstatSync(page).isFile()).toBe(true);
    expect(fs.readFileSync(page, 'utf8')).toContain('<!DOCTYPE html>');
    expect(fs.readdirSync(path.join(run, 'report')).filter((f) => f.includes('.tmp'))).toEqual([]);

    const other = t.file('other-run');
    fs.mkdirSync(path.join(other, 'elsewhere'), { recursive: true });
    fs.symlinkSync(path.join(other, 'elsewhere'), path.join(other, 'report'));
    for (const out of [undefined, path.join(other, 'report', 'report.html')]) {
      expect(() => writeStandaloneReport(other, t.file('bundle.js'), out)).toThrow(`${path.join(other, 'report')} is a symbolic link; a report is written only into the run's own folders (remove the link)`);
    }
    expect(fs.readdirSync(path.join(other, 'elsewhere'))).toEqual([]);
  });

  it('leaves out an image past 16 MiB', () => {
    const big = path.join(run, 'report/images/big.png');
    fs.writeFileSync(big, '');
    fs.truncateSync(big, (16 << 20) + 1); // sparse: its size is what is judged
    try {
      expect(dataUri(big)).toBeUndefined();
      fs.truncateSync(big, 16 << 20);
      expect(dataUri(big)).toHaveLength('data:image/png;base64,'.length + Math.ceil((16 << 20) / 3) * 4);
    } finally {
      fs.rmSync(big);
    }
  });

  it('the image reader is asked only for what the report names, and may leave any out', () => {
    const asked: string[] = [];
    const report = readReportData(run, (rel) => (asked.push(rel), rel.startsWith('report/') ? `uri:${rel}` : undefined));
    expect(asked).toEqual(images);
    expect(Object.keys(report.images)).toEqual(images.filter((i) => i.startsWith('report/')));
  });
});
