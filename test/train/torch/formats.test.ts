import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { pixelShuffle, type TorchLayout } from '../../../src/train/models/layers.js';
import { fromTorch, toTorch } from '../../../src/train/torch/layout.js';
import { PickleError, pickleStateDicts, PyDict, TensorRef, unpickle } from '../../../src/train/torch/pickle.js';
import { decodePth, encodePth } from '../../../src/train/torch/pth.js';
import { decodeSafetensors, encodeSafetensors, SafetensorsError } from '../../../src/train/torch/safetensors.js';
import { canonicalName, renameTo } from '../../../src/train/torch/state-dict.js';
import { readZipDirectory, readZipEntry, writeZip, ZipError } from '../../../src/train/torch/zip.js';

/** The weight file formats without PyTorch: layouts, safetensors, zip, the pickle writer and the restricted reader. */

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const ramp = (n: number): Float32Array => Float32Array.from({ length: n }, (_, i) => i + 0.5);

describe('layouts', () => {
  it('conv [k,k,in,out] -> [out,in,k,k]: element (ky,kx,i,o) lands at (o,i,ky,kx); and back', () => {
    const t = { shape: [3, 2, 4, 5], data: ramp(120) };
    const p = toTorch('conv', t);
    expect(p.shape).toEqual([5, 4, 3, 2]);
    for (let ky = 0; ky < 3; ky++)
      for (let kx = 0; kx < 2; kx++)
        for (let i = 0; i < 4; i++) for (let o = 0; o < 5; o++) expect(p.data[((o * 4 + i) * 3 + ky) * 2 + kx]).toBe(t.data[((ky * 2 + kx) * 4 + i) * 5 + o]);
    expect(fromTorch('conv', p, t.shape).data).toEqual(t.data);
  });

  it.each<[TorchLayout, number[], number[]]>([
    ['depthwise', [3, 3, 6, 1], [6, 1, 3, 3]],
    ['pointwise', [4, 6], [6, 4, 1, 1]],
    ['pointwise-shuffle', [3, 8], [8, 3, 1, 1]],
    ['linear', [4, 6], [6, 4]],
    ['vector', [5], [5]],
    ['channel', [5], [1, 5, 1, 1]],
  ])('%s: shape %j -> %j and back to the same values', (layout, shape, torchShape) => {
    const t = { shape, data: ramp(shape.reduce((a, b) => a * b, 1)) };
    const p = toTorch(layout, t);
    expect(p.shape).toEqual(torchShape);
    expect(fromTorch(layout, p, shape).data).toEqual(t.data);
    expect(() => fromTorch(layout, { shape: [...torchShape.slice(0, -1), 99], data: p.data }, shape, 'w')).toThrow(/w: shape/);
  });

  it("pointwise-shuffle reorders output channels to PixelShuffle(2)'s c*4 + i*2 + j", () => {
    // A 1x1 conv on a one-hot pixel, then uirgen's pixel shuffle, must equal PyTorch's: out[k, i, j] = y[k*4 + i*2 + j].
    const cin = 2;
    const c = 3;
    const w = { shape: [cin, 4 * c], data: Float32Array.from({ length: cin * 4 * c }, (_, n) => Math.sin(n + 1)) };
    const torchW = toTorch('pointwise-shuffle', w);
    const x = [0.7, -1.3];
    const shuffled = tf.tidy(() =>
      pixelShuffle(tf.conv2d(tf.tensor4d(x, [1, 1, 1, cin]), tf.tensor4d(w.data, [1, 1, cin, 4 * c]), 1, 'valid') as tf.Tensor4D, 2).dataSync(),
    );
    for (let k = 0; k < c; k++)
      for (let i = 0; i < 2; i++)
        for (let j = 0; j < 2; j++) {
          const t = k * 4 + i * 2 + j;
          const y = x[0] * torchW.data[t * cin] + x[1] * torchW.data[t * cin + 1];
          expect(shuffled[(i * 2 + j) * c + k]).toBeCloseTo(y, 5);
        }
  });
});

describe('names', () => {
  it('maps MaskDCPT names to DCPT and megvii spellings and back', () => {
    const names = ['intro.weight', 'encoders.1.blocks.0.conv1.weight', 'middle_blks.blocks.2.beta', 'decoder3.blocks.0.norm1.bias', 'ups.0.0.weight'];
    expect(names.map((n) => renameTo('megvii', n))).toEqual(['intro.weight', 'encoders.1.0.conv1.weight', 'middle_blks.2.beta', 'decoders.3.0.norm1.bias', 'ups.0.0.weight']);
    expect(names.map((n) => renameTo('dcpt', n))).toEqual(['intro.weight', 'encoders.1.0.conv1.weight', 'middle_blks.2.beta', 'decoder3.0.norm1.bias', 'ups.0.0.weight']);
    for (const style of ['maskdcpt', 'dcpt', 'megvii'] as const) expect(names.map((n) => canonicalName(`module.${renameTo(style, n)}`))).toEqual(names);
  });
});

describe('safetensors', () => {
  const tensors = [
    { name: 'a.weight', shape: [2, 3], data: ramp(6) },
    { name: 'b', shape: [4], data: Float32Array.from([1, -2, 3.5, 0]) },
  ];

  it('round-trips, with an 8-byte-aligned header and metadata', () => {
    const buf = encodeSafetensors(tensors, { format: 'pt' });
    expect(Number(buf.readBigUInt64LE(0)) % 8).toBe(0);
    const d = decodeSafetensors(buf);
    expect(d.metadata).toEqual({ format: 'pt' });
    expect(d.tensors.get('a.weight')).toEqual({ shape: [2, 3], data: tensors[0].data });
    expect(d.tensors.get('b')?.data).toEqual(tensors[1].data);
  });

  it('reads F16, BF16 and F64 as float32', () => {
    const header = JSON.stringify({ h: { dtype: 'F16', shape: [2], data_offsets: [0, 4] }, bf: { dtype: 'BF16', shape: [1], data_offsets: [4, 6] }, d: { dtype: 'F64', shape: [1], data_offsets: [6, 14] } });
    const data = Buffer.alloc(14);
    data.writeUInt16LE(0x3c00, 0); // 1.0
    data.writeUInt16LE(0xc100, 2); // -2.5
    data.writeUInt16LE(0x4049, 4); // bf16 of 3.140625
    data.writeDoubleLE(0.25, 6);
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(header.length));
    const d = decodeSafetensors(Buffer.concat([len, Buffer.from(header), data]));
    expect([...(d.tensors.get('h')?.data ?? [])]).toEqual([1, -2.5]);
    expect(d.tensors.get('bf')?.data[0]).toBeCloseTo(3.140625, 6);
    expect(d.tensors.get('d')?.data[0]).toBe(0.25);
  });

  it('refuses malformed files: header past the end, overlaps, gaps, sizes, dtypes', () => {
    const good = encodeSafetensors(tensors);
    const bad = (mutate: (h: Record<string, { data_offsets: number[]; dtype: string; shape: number[] }>) => void): Buffer => {
      const n = Number(good.readBigUInt64LE(0));
      const h = JSON.parse(good.toString('utf8', 8, 8 + n));
      mutate(h);
      const json = Buffer.from(JSON.stringify(h));
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(json.length));
      return Buffer.concat([len, json, good.subarray(8 + n)]);
    };
    const huge = Buffer.from(good);
    huge.writeBigUInt64LE(BigInt(1e12), 0);
    expect(() => decodeSafetensors(huge)).toThrow(SafetensorsError);
    expect(() => decodeSafetensors(bad((h) => (h.b.data_offsets = [20, 36])))).toThrow(/overlap/);
    expect(() => decodeSafetensors(bad((h) => (h.b.data_offsets = [28, 44])))).toThrow(/outside|gap/);
    expect(() => decodeSafetensors(bad((h) => (h.b.shape = [5])))).toThrow(/bytes for 5/);
    expect(() => decodeSafetensors(bad((h) => (h.b.dtype = 'F8_E4M3')))).toThrow(/dtype/);
    expect(() => decodeSafetensors(good.subarray(0, 5))).toThrow(/too short/);
  });
});

describe('zip', () => {
  it('writes stored entries with data on 64-byte boundaries and reads them back', () => {
    const entries = [
      { name: 'archive/data.pkl', data: Buffer.from('abc') },
      { name: 'archive/data/0', data: new Uint8Array(100).fill(7) },
      { name: 'archive/version', data: Buffer.from('3\n') },
    ];
    const buf = writeZip(entries);
    const dirEntries = readZipDirectory(buf);
    expect(dirEntries.map((e) => e.name)).toEqual(entries.map((e) => e.name));
    for (const [i, e] of dirEntries.entries()) {
      const start = e.headerOffset + 30 + buf.readUInt16LE(e.headerOffset + 26) + buf.readUInt16LE(e.headerOffset + 28);
      expect(start % 64).toBe(0);
      expect(Buffer.from(readZipEntry(buf, e))).toEqual(Buffer.from(entries[i].data));
    }
  });

  it('notices damage: CRC, truncation, not a zip', () => {
    const buf = writeZip([{ name: 'a/b', data: Buffer.from('hello world') }]);
    const e = readZipDirectory(buf)[0];
    const flipped = Buffer.from(buf);
    flipped[e.headerOffset + 30 + 3 + buf.readUInt16LE(e.headerOffset + 28)] ^= 1;
    expect(() => readZipEntry(flipped, readZipDirectory(flipped)[0])).toThrow(/CRC/);
    expect(() => readZipDirectory(Buffer.from('not a zip at all, just text........'))).toThrow(ZipError);
    expect(() => readZipDirectory(buf.subarray(0, buf.length - 30))).toThrow(ZipError);
  });
});

describe('pickle', () => {
  it('the state-dict pickle reads back as dicts of tensors over storages', () => {
    const pkl = pickleStateDicts([{ key: 'params', tensors: [{ name: 'w', storage: '0', shape: [2, 3] }, { name: 'b', storage: '1', shape: [3] }] }]);
    const root = unpickle(pkl) as PyDict;
    const params = root.map.get('params') as PyDict;
    const w = params.map.get('w') as TensorRef;
    expect(w).toBeInstanceOf(TensorRef);
    expect([w.shape, w.stride, w.offset, w.storage.key, w.storage.numel]).toEqual([[2, 3], [3, 1], 0, '0', 6]);
  });

  it('.pth bytes read back to the same tensors', () => {
    const buf = encodePth([{ key: 'params_ema', tensors: [{ name: 'x', shape: [2, 2], data: Float32Array.from([1, 2, 3, 4]) }] }]);
    const d = decodePth(buf);
    expect(d.groups.get('params_ema')?.get('x')).toEqual({ shape: [2, 2], data: Float32Array.from([1, 2, 3, 4]) });
  });

  it('refuses any global, call or opcode a state dict does not use', () => {
    const evil = Buffer.from('\x80\x02cos\nsystem\nX\x02\x00\x00\x00lsR.', 'latin1');
    expect(() => unpickle(evil)).toThrow(/global os.system is not allowed/);
    const builtins = Buffer.from('\x80\x02cbuiltins\neval\n.', 'latin1');
    expect(() => unpickle(builtins)).toThrow(/builtins.eval/);
    const stackGlobal = Buffer.from('\x80\x04\x8c\x05posix\x8c\x06system\x93.', 'latin1');
    expect(() => unpickle(stackGlobal)).toThrow(/posix.system/);
    const inst = Buffer.from('\x80\x02(i__main__\nX\n.', 'latin1'); // INST
    expect(() => unpickle(inst)).toThrow(PickleError);
    const build = Buffer.from('\x80\x02ctorch._utils\n_rebuild_tensor_v2\n}b.', 'latin1'); // BUILD on a global
    expect(() => unpickle(build)).toThrow(/BUILD/);
    expect(() => unpickle(Buffer.from('\x80\x02}', 'latin1'))).toThrow(/ends early/);
  });

  it('refuses tensors reaching past their storage', () => {
    const pkl = pickleStateDicts([{ key: 'p', tensors: [{ name: 'w', storage: '0', shape: [2, 3] }] }]);
    // patch the storage size 6 -> 5 (BININT1 6 right after the 'cpu' string)
    const at = pkl.indexOf(Buffer.from('cpuK\x06', 'latin1'));
    const bad = Buffer.from(pkl);
    bad[at + 4] = 5;
    expect(() => unpickle(bad)).toThrow(/past its storage/);
  });
});
