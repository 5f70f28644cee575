/**
 * TensorBoard event files (`events.out.tfevents.<time>.<host>`): TFRecord-framed `Event` protos,
 * one scalar summary per logged value, so `tensorboard --logdir work_dirs` shows every run.
 *
 * Event { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; }
 * Summary { repeated Value value = 1; }  Value { string tag = 1; float simple_value = 2; }
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { frameRecord } from '../data/tfrecord/records';
import { TENSORBOARD_EVENTS_PREFIX } from '../rundir/files';
import { openForAppend } from '../rundir/atomic';
import type { MetricsSink } from './hooks/logger';

class ProtoWriter {
  private readonly parts: number[] = [];

  private varint(v: number | bigint): void {
    let x = BigInt(v);
    if (x < 0n) x += 1n << 64n;
    do {
      let byte = Number(x & 0x7fn);
      x >>= 7n;
      if (x > 0n) byte |= 0x80;
      this.parts.push(byte);
    } while (x > 0n);
  }

  private tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  double(field: number, v: number): this {
    this.tag(field, 1);
    const b = Buffer.alloc(8);
    b.writeDoubleLE(v);
    this.parts.push(...b);
    return this;
  }

  float(field: number, v: number): this {
    this.tag(field, 5);
    const b = Buffer.alloc(4);
    b.writeFloatLE(v);
    this.parts.push(...b);
    return this;
  }

  int64(field: number, v: number): this {
    this.tag(field, 0);
    this.varint(v);
    return this;
  }

  bytes(field: number, v: Uint8Array): this {
    this.tag(field, 2);
    this.varint(v.length);
    this.parts.push(...v);
    return this;
  }

  string(field: number, v: string): this {
    return this.bytes(field, Buffer.from(v, 'utf8'));
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

export function encodeScalarEvent(wallTime: number, step: number, values: Record<string, number>): Uint8Array {
  const summary = new ProtoWriter();
  for (const [tag, v] of Object.entries(values)) summary.bytes(1, new ProtoWriter().string(1, tag).float(2, v).finish());
  return new ProtoWriter().double(1, wallTime).int64(2, step).bytes(5, summary.finish()).finish();
}

export class TensorBoardWriter implements MetricsSink {
  private fd?: number;
  readonly file: string;

  constructor(dir: string) {
    this.file = path.join(dir, `${TENSORBOARD_EVENTS_PREFIX}${Math.floor(Date.now() / 1000)}.${os.hostname()}`);
  }

  private open(): number {
    if (this.fd === undefined) {
      this.fd = openForAppend(this.file, 'TensorBoard events file');
      const header = new ProtoWriter().double(1, Date.now() / 1000).string(3, 'brain.Event:2').finish();
      fs.writeSync(this.fd, frameRecord(header));
    }
    return this.fd;
  }

  scalars(step: number, values: Record<string, number>, prefix: string): void {
    const tagged: Record<string, number> = {};
    for (const [k, v] of Object.entries(values)) if (Number.isFinite(v)) tagged[`${prefix}/${k}`] = v;
    if (!Object.keys(tagged).length) return;
    fs.writeSync(this.open(), frameRecord(encodeScalarEvent(Date.now() / 1000, step, tagged)));
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}
