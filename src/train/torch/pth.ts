import type { HostTensor } from './layout.js';
import { pickleStateDicts, PyDict, PyTuple, STORAGE_DTYPES, TensorRef, unpickle, type PyValue } from './pickle.js';
import { decodeValues, type NamedTensor } from './safetensors.js';
import { readZipDirectory, readZipEntry, writeZip, ZipError, type ZipEntry } from './zip.js';

/**
 * PyTorch checkpoint files (torch.save since 1.6): a zip archive `<name>/data.pkl` (the pickled object,
 * tensors as references to storages), `<name>/data/<key>` (each storage's raw little-endian bytes),
 * `<name>/version` ("3") and, from PyTorch 2, `<name>/byteorder`. Written and read here for what BasicSR
 * keeps in a .pth: a dict of state dicts ({"params": ..., "params_ema": ...}), or a bare state dict.
 * The old pre-1.6 format (a bare pickle stream) is refused with a note.
 */

export class PthError extends Error {
  override name = 'PthError';
}

/** `{group: {name: tensor}}` as torch.save({group: OrderedDict(...)}) writes it; float32, contiguous. */
export function encodePth(groups: ReadonlyArray<{ key: string; tensors: readonly NamedTensor[] }>, archiveName = 'archive'): Buffer {
  if (!/^[A-Za-z0-9_.-]+$/.test(archiveName)) throw new PthError(`archive name ${archiveName} must be a plain file name`);
  let key = 0;
  const records: Array<{ name: string; data: Uint8Array }> = [];
  const pickled = groups.map((g) => ({
    key: g.key,
    tensors: g.tensors.map((t) => {
      const storage = String(key++);
      records.push({ name: `${archiveName}/data/${storage}`, data: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength) });
      return { name: t.name, storage, shape: t.shape };
    }),
  }));
  return writeZip([
    { name: `${archiveName}/data.pkl`, data: pickleStateDicts(pickled) },
    { name: `${archiveName}/byteorder`, data: Buffer.from('little') },
    ...records,
    { name: `${archiveName}/version`, data: Buffer.from('3\n') },
  ]);
}

/** The state dicts in a .pth: key '' for a bare state dict, else each top-level key holding one. */
export interface DecodedPth {
  groups: Map<string, Map<string, HostTensor>>;
  /** Top-level keys that hold something else (an iteration count, an optimizer state, ...), ignored. */
  ignored: string[];
}

function isStateDict(v: PyValue): v is PyDict {
  return v instanceof PyDict && v.map.size > 0 && [...v.map.values()].every((x) => x instanceof TensorRef);
}

export function decodePth(buf: Buffer, maxRecord = 2 ** 31): DecodedPth {
  if (buf.length >= 2 && buf[0] === 0x80) {
    throw new PthError('this is the pre-1.6 PyTorch format (a bare pickle); re-save it with torch.save in PyTorch 1.6 or newer');
  }
  let entries: ZipEntry[];
  try {
    entries = readZipDirectory(buf);
  } catch (err) {
    if (err instanceof ZipError) throw new PthError(`not a PyTorch checkpoint: ${err.message}`);
    throw err;
  }
  const pkl = entries.filter((e) => /^[^/]+\/data\.pkl$/.test(e.name));
  if (pkl.length !== 1) throw new PthError(`not a PyTorch checkpoint: expected one <archive>/data.pkl, found ${pkl.length}`);
  const prefix = pkl[0].name.slice(0, -'data.pkl'.length);
  const byName = new Map(entries.map((e) => [e.name, e]));
  const order = byName.get(`${prefix}byteorder`);
  if (order) {
    const o = readZipEntry(buf, order, 64).toString('latin1').trim();
    if (o !== 'little') throw new PthError(`storages are ${o}-endian; only little-endian checkpoints are supported`);
  }
  const root = unpickle(readZipEntry(buf, pkl[0], 2 ** 28));
  const groups = new Map<string, Map<string, HostTensor>>();
  const ignored: string[] = [];
  const storages = new Map<string, Buffer>();
  const storageBytes = (ref: TensorRef): Buffer => {
    const { key, cls, numel } = ref.storage;
    let data = storages.get(key);
    if (!data) {
      const entry = byName.get(`${prefix}data/${key}`);
      if (!entry) throw new PthError(`storage ${key} is referenced but not in the archive`);
      data = readZipEntry(buf, entry, maxRecord);
      if (data.length !== numel * STORAGE_DTYPES[cls].bytes) {
        throw new PthError(`storage ${key} holds ${data.length} bytes, ${numel} ${cls} elements need ${numel * STORAGE_DTYPES[cls].bytes}`);
      }
      storages.set(key, data);
    }
    return data;
  };
  const tensorOf = (ref: TensorRef): HostTensor => {
    const { dtype } = STORAGE_DTYPES[ref.storage.cls];
    const all = decodeValues(dtype, storageBytes(ref), ref.storage.numel);
    const numel = ref.shape.reduce((a, b) => a * b, 1);
    const out = new Float32Array(numel);
    // Gather by strides (state dicts are nearly always contiguous; views of other tensors are not).
    const rank = ref.shape.length;
    const idx = new Array<number>(rank).fill(0);
    for (let o = 0; o < numel; o++) {
      let src = ref.offset;
      for (let a = 0; a < rank; a++) src += idx[a] * ref.stride[a];
      out[o] = all[src];
      for (let a = rank - 1; a >= 0; a--) {
        if (++idx[a] < ref.shape[a]) break;
        idx[a] = 0;
      }
    }
    return { shape: [...ref.shape], data: out };
  };
  const collect = (d: PyDict): Map<string, HostTensor> => {
    const m = new Map<string, HostTensor>();
    for (const [k, v] of d.map) m.set(String(k), tensorOf(v as TensorRef));
    return m;
  };
  if (isStateDict(root)) {
    groups.set('', collect(root));
  } else if (root instanceof PyDict) {
    for (const [k, v] of root.map) {
      if (isStateDict(v)) groups.set(String(k), collect(v));
      else ignored.push(String(k));
    }
  } else {
    throw new PthError(`the checkpoint holds a ${root instanceof PyTuple ? 'tuple' : typeof root}, not a dict of tensors`);
  }
  if (groups.size === 0) throw new PthError(`no state dict in the checkpoint (top-level keys: ${ignored.join(', ') || 'none'})`);
  return { groups, ignored };
}
