// `cvw list <kind>`: the names it takes for a kind, and the message for the others.
import { describe, expect, it } from 'vitest';
import { cvw } from '../helpers/cvw';

describe('cvw list', () => {
  it('takes a kind by its name or a plural, and no member of Object.prototype for one', async () => {
    expect(await cvw('list', 'backbones')).toMatchObject({ code: 0, out: expect.stringContaining('  ResNet ') });
    expect(await cvw('list', 'algorithms')).toMatchObject({ code: 0, out: expect.stringContaining('  SimCLR ') });
    for (const name of ['constructor', 'toString', '__proto__']) {
      expect(await cvw('list', name)).toMatchObject({ code: 2, out: '', err: expect.stringContaining(`cvw list: unknown kind "${name}"`) });
    }
  });
});
