import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import { TensorBoardWriter } from '../../src/train/tensorboard';
import { readRecords } from '../../src/data/tfrecord/records';
import { tempFiles } from '../helpers/tmp';

const t = tempFiles({});
afterAll(() => t.cleanup());

/** A minimal protobuf reader for the fields the writer uses. */
function fields(buf: Uint8Array): Array<{ field: number; wire: number; value: number | bigint | Uint8Array }> {
  const out: Array<{ field: number; wire: number; value: number | bigint | Uint8Array }> = [];
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let i = 0;
  const varint = () => {
    let r = 0n;
    let s = 0n;
    for (;;) {
      const b = buf[i++];
      r |= BigInt(b & 0x7f) << s;
      s += 7n;
      if (!(b & 0x80)) return r;
    }
  };
  while (i < buf.length) {
    const key = Number(varint());
    const field = key >> 3;
    const wire = key & 7;
    if (wire === 0) out.push({ field, wire, value: varint() });
    else if (wire === 1) {
      out.push({ field, wire, value: dv.getFloat64(i, true) });
      i += 8;
    } else if (wire === 5) {
      out.push({ field, wire, value: dv.getFloat32(i, true) });
      i += 4;
    } else {
      const n = Number(varint());
      out.push({ field, wire, value: buf.subarray(i, i + n) });
      i += n;
    }
  }
  return out;
}

describe('TensorBoard event files', () => {
  it('frame Event protos as TFRecords (CRCs checked on read) with the version header and scalar summaries', () => {
    const w = new TensorBoardWriter(t.dir);
    w.scalars(7, { loss: 0.5, lr: 0.1, bad: NaN }, 'train');
    w.close();
    const records = [...readRecords(w.file)].map((r) => fields(r.data));
    expect(records).toHaveLength(2);
    const version = records[0].find((f) => f.field === 3)!.value as Uint8Array;
    expect(Buffer.from(version).toString()).toBe('brain.Event:2');
    const ev = records[1];
    expect(ev.find((f) => f.field === 2)!.value).toBe(7n);
    const summary = fields(ev.find((f) => f.field === 5)!.value as Uint8Array);
    const values = summary.map((v) => fields(v.value as Uint8Array)).map((v) => [Buffer.from(v[0].value as Uint8Array).toString(), v[1].value]);
    expect(values).toEqual([
      ['train/loss', 0.5],
      ['train/lr', expect.closeTo(0.1, 6)],
    ]);
    expect(fs.statSync(w.file).size).toBeGreaterThan(0);
  });
});
