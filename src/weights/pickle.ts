/**
 * A restricted unpickler: the opcodes `torch.save` uses for state dicts and nothing more. Python's
 * own unpickler imports and calls any global a file names, so a `.pth` from the internet can run
 * arbitrary code; this one resolves globals only from an allow-list given by the caller and
 * refuses any other before anything is built ("refusing to load os.system: a checkpoint must
 * never run code"). Opcodes that build arbitrary objects (INST, OBJ, NEWOBJ_EX, EXT*) are refused
 * the same way.
 *
 * Values: None -> null, bool, int -> number (bigint past 2^53), float, str -> string, bytes ->
 * Buffer, list and tuple -> array, dict -> Map. Allowed globals are what `resolve` returns for
 * them; REDUCE calls them with the argument tuple.
 */
import { UserError } from '../core/problems';

/** An allowed global: called by REDUCE/NEWOBJ, or used as a marker value (a storage type). */
export interface PickleGlobal {
  readonly module: string;
  readonly name: string;
  call?(args: unknown[]): unknown;
}

export interface UnpickleOptions {
  /** The allowed global for `module.name`, or undefined to refuse it. */
  resolve(module: string, name: string): PickleGlobal | undefined;
  /** What a persistent id (BINPERSID) stands for: torch's storages. */
  persistentLoad(pid: unknown): unknown;
  /** Named in refusals: what may be loaded. */
  allowedDescription: string;
}

/** Python's object attributes set by BUILD on a dict (OrderedDict `_metadata`), kept aside. */
export const PY_STATE = Symbol('pickle state');

export function unpickle(file: string, data: Buffer, options: UnpickleOptions): unknown {
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  let pos = 0;
  const fail = (what: string): never => {
    throw new UserError(`${file}: pickle byte ${pos}: ${what}`);
  };
  const need = (n: number) => {
    if (pos + n > data.length) fail(`truncated (needs ${n} more bytes, the pickle has ${data.length - pos})`);
  };
  const u8 = () => (need(1), data[pos++]);
  const u16 = () => (need(2), (pos += 2), data.readUInt16LE(pos - 2));
  const u32 = () => (need(4), (pos += 4), data.readUInt32LE(pos - 4));
  const i32 = () => (need(4), (pos += 4), data.readInt32LE(pos - 4));
  const u64 = () => {
    need(8);
    const v = data.readBigUInt64LE(pos);
    pos += 8;
    if (v > BigInt(data.length)) fail(`length ${v} runs past the end of the pickle`);
    return Number(v);
  };
  const bytes = (n: number) => (need(n), (pos += n), data.subarray(pos - n, pos));
  const line = () => {
    const end = data.indexOf(0x0a, pos);
    if (end < 0) fail('unterminated text line');
    const s = data.toString('latin1', pos, end);
    pos = end + 1;
    return s;
  };
  const pop = () => {
    if (stack.length === 0 || (marks.length && stack.length <= marks[marks.length - 1])) fail('stack underflow');
    return stack.pop();
  };
  const top = () => (stack.length ? stack[stack.length - 1] : fail('stack underflow'));
  const popMark = (): unknown[] => {
    const m = marks.pop();
    if (m === undefined) fail('no MARK to pop to');
    return stack.splice(m as number);
  };
  const global = (module: string, name: string): PickleGlobal => {
    const g = options.resolve(module, name);
    if (!g) {
      throw new UserError(`${file}: refusing to load ${`${module}.${name}`.slice(0, 200)}: a checkpoint must never run code (a state dict holds only ${options.allowedDescription}). Save model.state_dict() in PyTorch, or convert the file to safetensors`);
    }
    return g;
  };
  const call = (fn: unknown, args: unknown): unknown => {
    const g = fn as PickleGlobal;
    if (!g || typeof g !== 'object' || typeof g.call !== 'function') fail('REDUCE of something that is not an allowed callable');
    if (!Array.isArray(args)) fail('REDUCE arguments are not a tuple');
    return g.call!(args as unknown[]);
  };
  const asMap = (d: unknown): Map<unknown, unknown> => (d instanceof Map ? d : fail('SETITEM(S) on something that is not a dict'));
  const asList = (l: unknown): unknown[] => (Array.isArray(l) ? l : fail('APPEND(S) on something that is not a list'));
  const long = (b: Buffer): number | bigint => {
    if (b.length === 0) return 0;
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
    if (b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };

  for (;;) {
    const at = pos;
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) fail('pickle protocol above 5');
        break;
      case 0x95: // FRAME
        u64();
        break;
      case 0x2e: // STOP
        if (stack.length !== 1) fail(`STOP with ${stack.length} values on the stack`);
        return stack[0];
      case 0x28: // MARK
        marks.push(stack.length);
        break;
      case 0x30: // POP
        pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4a: // BININT
        stack.push(i32());
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x8a: // LONG1
        stack.push(long(bytes(u8())));
        break;
      case 0x8b: // LONG4
        stack.push(long(bytes(u32())));
        break;
      case 0x49: {
        // INT (text); protocol 0 writes booleans as 00/01
        const s = line();
        stack.push(s === '00' ? false : s === '01' ? true : Number.parseInt(s, 10));
        break;
      }
      case 0x4c: // LONG (text)
        stack.push(Number.parseInt(line().replace(/L$/, ''), 10));
        break;
      case 0x47: // BINFLOAT (big-endian)
        need(8);
        stack.push(data.readDoubleBE(pos));
        pos += 8;
        break;
      case 0x46: // FLOAT (text)
        stack.push(Number.parseFloat(line()));
        break;
      case 0x58: // BINUNICODE
        stack.push(bytes(u32()).toString('utf8'));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(bytes(u8()).toString('utf8'));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(bytes(u64()).toString('utf8'));
        break;
      case 0x54: // BINSTRING
        stack.push(bytes(u32()).toString('latin1'));
        break;
      case 0x55: // SHORT_BINSTRING
        stack.push(bytes(u8()).toString('latin1'));
        break;
      case 0x42: // BINBYTES
        stack.push(Buffer.from(bytes(u32())));
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(Buffer.from(bytes(u8())));
        break;
      case 0x8e: // BINBYTES8
        stack.push(Buffer.from(bytes(u64())));
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push([]);
        break;
      case 0x85: // TUPLE1
        stack.push([pop()]);
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        stack.push([pop(), b]);
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        stack.push([pop(), b, c]);
        break;
      }
      case 0x74: // TUPLE
      case 0x6c: // LIST
        stack.push(popMark());
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x64: {
        // DICT
        const items = popMark();
        const d = new Map<unknown, unknown>();
        for (let i = 0; i + 1 < items.length; i += 2) d.set(items[i], items[i + 1]);
        stack.push(d);
        break;
      }
      case 0x61: {
        // APPEND
        const v = pop();
        asList(top()).push(v);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        // One by one: push(...items) overflowed the call stack past ~125,000 items (a 400 KB file).
        const list = asList(top());
        for (const item of items) list.push(item);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        asMap(top()).set(k, v);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        const d = asMap(top());
        for (let i = 0; i + 1 < items.length; i += 2) d.set(items[i], items[i + 1]);
        break;
      }
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
      case 0x6a: {
        // LONG_BINGET
        const i = op === 0x68 ? u8() : u32();
        if (!memo.has(i)) fail(`memo entry ${i} read before it was written`);
        stack.push(memo.get(i));
        break;
      }
      case 0x63: {
        // GLOBAL
        const module = line();
        stack.push(global(module, line()));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
        stack.push(global(module as string, name as string));
        break;
      }
      case 0x52: // REDUCE
      case 0x81: {
        // NEWOBJ: cls.__new__(cls, *args); only allowed globals reach here
        const args = pop();
        stack.push(call(pop(), args));
        break;
      }
      case 0x62: {
        // BUILD: set the state of the object below; dicts keep it aside, nothing runs
        const state = pop();
        const obj = top();
        if (obj && typeof obj === 'object') (obj as Record<symbol, unknown>)[PY_STATE] = state;
        break;
      }
      case 0x51: // BINPERSID
        stack.push(options.persistentLoad(pop()));
        break;
      default:
        pos = at;
        fail(`opcode 0x${op.toString(16).padStart(2, '0')} ('${String.fromCharCode(op)}') is not one a state dict uses; refusing to go on (a checkpoint must never run code)`);
    }
  }
}
