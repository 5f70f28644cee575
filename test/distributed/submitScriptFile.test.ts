import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import '../../src/builtins';
import { submit } from '../../src/distributed/slurm';
import { tempFiles } from '../helpers/tmp';
import { tinyClassificationYaml } from '../helpers/tinyConfig';

// `cvw submit <config> --work-dir <run>` resubmits a run (its job script resumes from the latest
// checkpoint). A run folder that came with the workspace may hold a planted submit.sbatch link,
// e.g. to ../../../../.bashrc: the job script was written through it, replacing the shell's
// start-up file with a script that `exec srun ... cvw train`s the run in every new shell.
const RC = '# the user\'s shell start-up file\n';

describe('cvw submit writes its job script into the run folder', () => {
  it('a submit.sbatch there that links elsewhere is replaced, never written through: the link\'s target is left as it was', () => {
    const t = tempFiles({
      'repo/configs/cfg.yaml': tinyClassificationYaml({ seed: 1, runner: 'max_iters: 1' }),
      'home/.bashrc': RC,
    });
    try {
      // Slurm's srun, as a new shell would find it: it leaves a marker.
      fs.mkdirSync(t.file('bin'));
      fs.writeFileSync(t.file('bin/srun'), `#!/bin/sh\ntouch '${t.file('SRUN-RAN')}'\n`, { mode: 0o755 });
      const run = t.file('repo/work_dirs/cfg/run1');
      fs.mkdirSync(run, { recursive: true });
      // Relative, as a repository would carry it: from repo/work_dirs/cfg/run1 up to the home folder.
      fs.symlinkSync(path.join('..', '..', '..', '..', 'home', '.bashrc'), path.join(run, 'submit.sbatch'));

      const result = submit({ config: t.file('repo/configs/cfg.yaml'), nodes: 1, ntasksPerNode: 1, workDir: run, dryRun: true });

      // A new shell of the user's.
      spawnSync('bash', ['-c', `. '${t.file('home/.bashrc')}'`], { env: { PATH: `${t.file('bin')}:${process.env.PATH}` } });
      expect(fs.existsSync(t.file('SRUN-RAN'))).toBe(false);
      expect(fs.readFileSync(t.file('home/.bashrc'), 'utf8')).toBe(RC);
      // The script is the run's own file now.
      expect(result.script).toBe(path.join(run, 'submit.sbatch'));
      expect(fs.lstatSync(result.script).isFile()).toBe(true);
      expect(fs.readFileSync(result.script, 'utf8')).toMatch(/^#!\/bin\/bash\n[^]*exec srun /);
      expect(fs.statSync(result.script).mode & 0o777).toBe(0o755);
      expect(fs.readdirSync(run)).toEqual(['submit.sbatch']);
    } finally {
      t.cleanup();
    }
  });
});
