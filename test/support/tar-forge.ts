/**
 * Hand-made tar archives for tests of readers of untrusted shards: headers with any name, type or claimed
 * size (things no uirgen writer would produce), with valid checksums so only the reader's checks stop them.
 */

export interface ForgedMember {
  name: string;
  data?: Buffer;
  /** ustar typeflag ('0' file, '1' hard link, '2' symlink, '5' directory, 'x' pax ...). */
  type?: string;
  /** The size the header claims (default: data's length). */
  size?: number;
  linkname?: string;
}

function put(block: Buffer, text: string, at: number, length: number): void {
  block.write(text.slice(0, length), at, 'latin1');
}

export function tarHeader(m: ForgedMember): Buffer {
  const h = Buffer.alloc(512);
  put(h, m.name, 0, 100);
  put(h, '0000644\0', 100, 8);
  put(h, '0000000\0', 108, 8);
  put(h, '0000000\0', 116, 8);
  put(h, `${(m.size ?? m.data?.length ?? 0).toString(8).padStart(11, '0')}\0`, 124, 12);
  put(h, '00000000000\0', 136, 12);
  put(h, '        ', 148, 8);
  put(h, m.type ?? '0', 156, 1);
  put(h, m.linkname ?? '', 157, 100);
  put(h, 'ustar\u000000', 257, 8);
  let sum = 0;
  for (const b of h) sum += b;
  put(h, `${sum.toString(8).padStart(6, '0')}\0 `, 148, 8);
  return h;
}

/** An archive of these members (data padded to blocks), with the end marker unless `end` is false. */
export function forgeTar(members: readonly ForgedMember[], end = true): Buffer {
  const parts: Buffer[] = [];
  for (const m of members) {
    parts.push(tarHeader(m));
    const data = m.data ?? Buffer.alloc(0);
    parts.push(data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  if (end) parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}
