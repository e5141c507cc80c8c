/**
 * Python pickles as torch.save writes them for state dicts (protocol 2), both ways.
 *
 * Writing: `{group: OrderedDict(name -> tensor)}` with each tensor a torch._utils._rebuild_tensor_v2 call
 * over a persistent storage reference ('storage', torch.FloatStorage, key, 'cpu', numel), exactly the
 * opcodes torch.save emits (without the memo, which pickle does not require).
 *
 * Reading: a restricted unpickler. A pickle is a program; this one runs only the opcodes a state dict
 * needs and calls nothing: the only globals it accepts are collections.OrderedDict, the tensor and
 * parameter rebuild functions and the storage types, each interpreted here, never looked up. Anything else
 * (another global, an unknown opcode, a reduce of anything but those) stops the read with its name.
 */

export class PickleError extends Error {
  override name = 'PickleError';
}

// ---------------------------------------------------------------------------------------------
// Writer

export interface PickleTensor {
  name: string;
  /** Storage record key ("0", "1", ...): archive/data/<key>. */
  storage: string;
  shape: number[];
}

class Writer {
  private readonly chunks: Buffer[] = [];
  op(code: number): this {
    this.chunks.push(Buffer.from([code]));
    return this;
  }
  str(s: string): this {
    const b = Buffer.from(s, 'utf8');
    const h = Buffer.alloc(5);
    h[0] = 0x58; // BINUNICODE
    h.writeUInt32LE(b.length, 1);
    this.chunks.push(h, b);
    return this;
  }
  global(module: string, name: string): this {
    this.chunks.push(Buffer.from(`c${module}\n${name}\n`, 'latin1'));
    return this;
  }
  int(n: number): this {
    if (!Number.isSafeInteger(n) || n < 0) throw new PickleError(`cannot write ${n} as a pickle int`);
    if (n < 256) this.chunks.push(Buffer.from([0x4b, n])); // BININT1
    else if (n < 65536) this.chunks.push(Buffer.from([0x4d, n & 0xff, n >> 8])); // BININT2
    else if (n < 2 ** 31) {
      const b = Buffer.alloc(5);
      b[0] = 0x4a; // BININT
      b.writeInt32LE(n, 1);
      this.chunks.push(b);
    } else {
      const b = Buffer.alloc(10);
      b[0] = 0x8a; // LONG1, 8 bytes little-endian two's complement
      b[1] = 8;
      b.writeBigInt64LE(BigInt(n), 2);
      this.chunks.push(b);
    }
    return this;
  }
  tuple(values: readonly number[]): this {
    this.op(MARK);
    for (const v of values) this.int(v);
    return this.op(TUPLE);
  }
  done(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

const MARK = 0x28;
const TUPLE = 0x74;

/** The data.pkl of `{group: OrderedDict(name -> float32 tensor)}`, groups in order. */
export function pickleStateDicts(groups: ReadonlyArray<{ key: string; tensors: readonly PickleTensor[] }>): Buffer {
  const w = new Writer();
  w.op(0x80).op(2); // PROTO 2
  w.op(0x7d); // EMPTY_DICT
  w.op(MARK);
  for (const g of groups) {
    w.str(g.key);
    w.global('collections', 'OrderedDict').op(0x29).op(0x52); // OrderedDict()
    w.op(MARK);
    for (const t of g.tensors) {
      const numel = t.shape.reduce((a, b) => a * b, 1);
      const strides = t.shape.map((_, i) => t.shape.slice(i + 1).reduce((a, b) => a * b, 1));
      w.str(t.name);
      w.global('torch._utils', '_rebuild_tensor_v2');
      w.op(MARK);
      w.op(MARK).str('storage').global('torch', 'FloatStorage').str(t.storage).str('cpu').int(numel).op(TUPLE).op(0x51); // BINPERSID
      w.int(0).tuple(t.shape).tuple(strides);
      w.op(0x89); // requires_grad False
      w.global('collections', 'OrderedDict').op(0x29).op(0x52); // backward hooks
      w.op(TUPLE).op(0x52); // REDUCE
    }
    w.op(0x75); // SETITEMS
  }
  w.op(0x75).op(0x2e); // SETITEMS, STOP
  return w.done();
}

// ---------------------------------------------------------------------------------------------
// Restricted reader

/** Element types of the storages a state dict may hold, by PyTorch storage class. */
export const STORAGE_DTYPES = {
  FloatStorage: { dtype: 'F32', bytes: 4 },
  DoubleStorage: { dtype: 'F64', bytes: 8 },
  HalfStorage: { dtype: 'F16', bytes: 2 },
  BFloat16Storage: { dtype: 'BF16', bytes: 2 },
  LongStorage: { dtype: 'I64', bytes: 8 },
  IntStorage: { dtype: 'I32', bytes: 4 },
  ShortStorage: { dtype: 'I16', bytes: 2 },
  CharStorage: { dtype: 'I8', bytes: 1 },
  ByteStorage: { dtype: 'U8', bytes: 1 },
  BoolStorage: { dtype: 'BOOL', bytes: 1 },
} as const;
type StorageClass = keyof typeof STORAGE_DTYPES;

export class PyTuple {
  constructor(readonly items: PyValue[]) {}
}
export class PyDict {
  readonly map = new Map<string | number, PyValue>();
}
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
}
export class StorageRef {
  constructor(
    readonly cls: StorageClass,
    readonly key: string,
    readonly numel: number,
  ) {}
}
export class TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
  ) {}
}

export type PyValue = null | boolean | number | string | PyValue[] | PyTuple | PyDict | PyGlobal | StorageRef | TensorRef;

const ALLOWED_GLOBALS = new Set([
  'collections.OrderedDict',
  'torch._utils._rebuild_tensor_v2',
  'torch._utils._rebuild_parameter',
  'torch._utils._rebuild_parameter_with_state',
  ...Object.keys(STORAGE_DTYPES).map((s) => `torch.${s}`),
]);

const MAX_STACK = 1_000_000;

function asInt(v: PyValue, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new PickleError(`${what} must be an integer, got ${describe(v)}`);
  return v;
}

function intTuple(v: PyValue, what: string): number[] {
  if (!(v instanceof PyTuple)) throw new PickleError(`${what} must be a tuple, got ${describe(v)}`);
  return v.items.map((x) => asInt(x, what));
}

function describe(v: PyValue): string {
  if (v === null) return 'None';
  if (v instanceof PyGlobal) return `${v.module}.${v.name}`;
  if (v instanceof PyTuple) return 'tuple';
  if (v instanceof PyDict) return 'dict';
  if (Array.isArray(v)) return 'list';
  if (v instanceof TensorRef) return 'tensor';
  if (v instanceof StorageRef) return 'storage';
  return typeof v;
}

function persistentLoad(pid: PyValue): StorageRef {
  if (!(pid instanceof PyTuple) || pid.items.length < 5 || pid.items[0] !== 'storage') {
    throw new PickleError(`persistent id ${describe(pid)} is not a storage reference`);
  }
  const [, type, key, location, numel] = pid.items;
  if (!(type instanceof PyGlobal) || type.module !== 'torch' || !(type.name in STORAGE_DTYPES)) {
    throw new PickleError(`storage type ${describe(type)} is not supported`);
  }
  if (typeof key !== 'string' || !/^[A-Za-z0-9_]{1,64}$/.test(key)) throw new PickleError(`storage key ${describe(key)} is not a plain name`);
  if (typeof location !== 'string') throw new PickleError('storage location must be a string');
  const n = asInt(numel, 'storage size');
  if (n < 0) throw new PickleError(`storage size ${n} is negative`);
  return new StorageRef(type.name as StorageClass, key, n);
}

function callGlobal(fn: PyValue, args: PyValue): PyValue {
  if (!(fn instanceof PyGlobal)) throw new PickleError(`cannot call a ${describe(fn)}`);
  if (!(args instanceof PyTuple)) throw new PickleError(`arguments of ${describe(fn)} must be a tuple`);
  const a = args.items;
  switch (`${fn.module}.${fn.name}`) {
    case 'collections.OrderedDict':
      if (a.length !== 0) throw new PickleError('OrderedDict with arguments is not supported');
      return new PyDict();
    case 'torch._utils._rebuild_tensor_v2': {
      if (a.length < 6 || a.length > 7) throw new PickleError(`_rebuild_tensor_v2 takes 6 or 7 arguments, got ${a.length}`);
      if (!(a[0] instanceof StorageRef)) throw new PickleError('_rebuild_tensor_v2 needs a storage');
      const shape = intTuple(a[2], 'tensor size');
      const stride = intTuple(a[3], 'tensor stride');
      if (shape.length !== stride.length || shape.some((d) => d < 0) || stride.some((s) => s < 0)) throw new PickleError('tensor size and stride do not match');
      const offset = asInt(a[1], 'storage offset');
      const numel = shape.reduce((x, y) => x * y, 1);
      const last = numel === 0 ? offset : offset + shape.reduce((acc, d, i) => acc + (d - 1) * stride[i], 0);
      if (offset < 0 || (numel > 0 && last >= a[0].numel)) throw new PickleError(`a tensor reaches past its storage of ${a[0].numel} elements`);
      return new TensorRef(a[0], offset, shape, stride);
    }
    case 'torch._utils._rebuild_parameter':
    case 'torch._utils._rebuild_parameter_with_state':
      if (!(a[0] instanceof TensorRef)) throw new PickleError(`${fn.name} needs a tensor`);
      return a[0];
    default:
      throw new PickleError(`calling ${fn.module}.${fn.name} is not allowed in a state dict`);
  }
}

/** Run a state-dict pickle; returns its top value. */
export function unpickle(buf: Buffer): PyValue {
  const stack: PyValue[] = [];
  const marks: number[] = [];
  const memo = new Map<number, PyValue>();
  let p = 0;
  const need = (n: number): void => {
    if (p + n > buf.length) throw new PickleError('pickle ends early');
  };
  const pop = (): PyValue => {
    if (stack.length === 0 || (marks.length && stack.length <= marks[marks.length - 1])) throw new PickleError('pickle stack underflow');
    return stack.pop() as PyValue;
  };
  const popMark = (): PyValue[] => {
    const m = marks.pop();
    if (m === undefined) throw new PickleError('pickle has no MARK to pop');
    return stack.splice(m);
  };
  const push = (v: PyValue): void => {
    if (stack.length >= MAX_STACK) throw new PickleError('pickle stack too deep');
    stack.push(v);
  };
  const top = (): PyValue => {
    if (stack.length === 0) throw new PickleError('pickle stack underflow');
    return stack[stack.length - 1];
  };
  const str = (len: number, enc: 'utf8' | 'latin1'): string => {
    need(len);
    const s = buf.toString(enc, p, p + len);
    p += len;
    return s;
  };
  const setItems = (dict: PyValue, items: PyValue[]): void => {
    if (!(dict instanceof PyDict)) throw new PickleError(`SETITEM on a ${describe(dict)}`);
    if (items.length % 2) throw new PickleError('SETITEMS with an odd number of values');
    for (let i = 0; i < items.length; i += 2) {
      const k = items[i];
      if (typeof k !== 'string' && typeof k !== 'number') throw new PickleError(`dict key of type ${describe(k)} is not supported`);
      dict.map.set(k, items[i + 1]);
    }
  };
  const global = (module: string, name: string): PyGlobal => {
    if (!ALLOWED_GLOBALS.has(`${module}.${name}`)) throw new PickleError(`global ${module}.${name} is not allowed in a state dict`);
    return new PyGlobal(module, name);
  };
  for (;;) {
    need(1);
    const op = buf[p++];
    switch (op) {
      case 0x80: // PROTO
        need(1);
        if (buf[p] > 5) throw new PickleError(`pickle protocol ${buf[p]} is not supported`);
        p += 1;
        break;
      case 0x95: // FRAME
        need(8);
        p += 8;
        break;
      case 0x2e: // STOP
        if (stack.length !== 1 || marks.length) throw new PickleError('pickle stops with a malformed stack');
        return stack[0];
      case 0x28: // MARK
        marks.push(stack.length);
        break;
      case 0x7d: // EMPTY_DICT
        push(new PyDict());
        break;
      case 0x5d: // EMPTY_LIST
        push([]);
        break;
      case 0x29: // EMPTY_TUPLE
        push(new PyTuple([]));
        break;
      case 0x74: // TUPLE
        push(new PyTuple(popMark()));
        break;
      case 0x85: // TUPLE1
        push(new PyTuple([pop()]));
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        push(new PyTuple([pop(), b]));
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        push(new PyTuple([pop(), b, c]));
        break;
      }
      case 0x6c: // LIST
        push(popMark());
        break;
      case 0x64: {
        // DICT
        const d = new PyDict();
        setItems(d, popMark());
        push(d);
        break;
      }
      case 0x61: {
        // APPEND
        const v = pop();
        const l = top();
        if (!Array.isArray(l)) throw new PickleError(`APPEND to a ${describe(l)}`);
        l.push(v);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        const l = top();
        if (!Array.isArray(l)) throw new PickleError(`APPENDS to a ${describe(l)}`);
        l.push(...items);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x4e: // NONE
        push(null);
        break;
      case 0x88: // NEWTRUE
        push(true);
        break;
      case 0x89: // NEWFALSE
        push(false);
        break;
      case 0x4b: // BININT1
        need(1);
        push(buf[p]);
        p += 1;
        break;
      case 0x4d: // BININT2
        need(2);
        push(buf.readUInt16LE(p));
        p += 2;
        break;
      case 0x4a: // BININT
        need(4);
        push(buf.readInt32LE(p));
        p += 4;
        break;
      case 0x8a: {
        // LONG1
        need(1);
        const n = buf[p++];
        need(n);
        if (n > 8) throw new PickleError('integer too large');
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(buf[p + i]);
        if (n > 0 && buf[p + n - 1] & 0x80) v -= 1n << BigInt(8 * n);
        p += n;
        if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) throw new PickleError('integer too large');
        push(Number(v));
        break;
      }
      case 0x47: // BINFLOAT (big-endian double)
        need(8);
        push(buf.readDoubleBE(p));
        p += 8;
        break;
      case 0x58: // BINUNICODE
        need(4);
        p += 4;
        push(str(buf.readUInt32LE(p - 4), 'utf8'));
        break;
      case 0x8c: // SHORT_BINUNICODE
        need(1);
        p += 1;
        push(str(buf[p - 1], 'utf8'));
        break;
      case 0x8d: {
        // BINUNICODE8
        need(8);
        const n = buf.readBigUInt64LE(p);
        p += 8;
        if (n > BigInt(buf.length)) throw new PickleError('pickle ends early');
        push(str(Number(n), 'utf8'));
        break;
      }
      case 0x55: // SHORT_BINSTRING
        need(1);
        p += 1;
        push(str(buf[p - 1], 'latin1'));
        break;
      case 0x54: // BINSTRING
        need(4);
        p += 4;
        push(str(buf.readUInt32LE(p - 4), 'latin1'));
        break;
      case 0x71: // BINPUT
        need(1);
        memo.set(buf[p++], top());
        break;
      case 0x72: // LONG_BINPUT
        need(4);
        memo.set(buf.readUInt32LE(p), top());
        p += 4;
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: {
        // BINGET
        need(1);
        const k = buf[p++];
        if (!memo.has(k)) throw new PickleError(`memo ${k} read before it is written`);
        push(memo.get(k) as PyValue);
        break;
      }
      case 0x6a: {
        // LONG_BINGET
        need(4);
        const k = buf.readUInt32LE(p);
        p += 4;
        if (!memo.has(k)) throw new PickleError(`memo ${k} read before it is written`);
        push(memo.get(k) as PyValue);
        break;
      }
      case 0x63: {
        // GLOBAL "module\nname\n"
        const end1 = buf.indexOf(0x0a, p);
        const end2 = end1 < 0 ? -1 : buf.indexOf(0x0a, end1 + 1);
        if (end1 < 0 || end2 < 0 || end2 - p > 512) throw new PickleError('malformed GLOBAL');
        const module = buf.toString('latin1', p, end1);
        const name = buf.toString('latin1', end1 + 1, end2);
        p = end2 + 1;
        push(global(module, name));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') throw new PickleError('malformed STACK_GLOBAL');
        push(global(module, name));
        break;
      }
      case 0x51: // BINPERSID
        push(persistentLoad(pop()));
        break;
      case 0x52: {
        // REDUCE
        const args = pop();
        push(callGlobal(pop(), args));
        break;
      }
      case 0x62: {
        // BUILD: only an OrderedDict's instance attributes (a state_dict's _metadata), which are dropped
        const state = pop();
        const obj = top();
        if (!(obj instanceof PyDict) || !(state instanceof PyDict || state === null)) {
          throw new PickleError(`BUILD of a ${describe(obj)} is not allowed in a state dict`);
        }
        break;
      }
      default:
        throw new PickleError(`pickle opcode 0x${op.toString(16).padStart(2, '0')} at byte ${p - 1} is not allowed in a state dict`);
    }
  }
}
