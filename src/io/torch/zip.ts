// The zip container of torch.save's format (torch >= 1.6), as PyTorch's writer (miniz with
// torch's padding) lays it out: every record stored uncompressed, its data aligned to 64 bytes
// by an extra field ('FB', then 'Z' bytes) in the LOCAL header only, CRC and sizes in a data
// descriptor after the data (general-purpose flag bit 3), zip64 end records always present and
// zip64 extra fields for sizes or offsets that do not fit 32 bits.
// Platform-neutral: works on Uint8Array.
import { TorchFileError } from './values.ts';

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const SIG_DESCRIPTOR = 0x08074b50;
const U32_MAX = 0xffffffff;
const U16_MAX = 0xffff;
/** Alignment of record data in the file (torch's kFieldAlignment). */
export const ZIP_ALIGNMENT = 64;

// ------------------------------------------------------------------------------------ CRC-32

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (zip's, polynomial 0xEDB88320) of `bytes`. */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// ------------------------------------------------------------------------------------- read

/** One record of a zip archive: its name and (uncompressed) bytes, a view into the file. */
export interface ZipEntry {
  readonly name: string;
  readonly data: Uint8Array;
  /** Offset of the data in the file (a multiple of 64 in files torch writes). */
  readonly dataOffset: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads the records of a zip archive (stored entries, zip64 aware), in central-directory order.
 * Data offsets come from each entry's local header; every record's CRC-32 is checked.
 * `file` names the file in errors.
 */
export function readZip(bytes: Uint8Array, file: string): ZipEntry[] {
  const fail = (problem: string): never => {
    throw new TorchFileError(file, problem);
  };
  bytes = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength); // plain view, even of a Buffer
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const len = bytes.length;
  const u16 = (p: number): number => view.getUint16(p, true);
  const u32 = (p: number): number => view.getUint32(p, true);
  const u64 = (p: number, what: string): number => {
    const v = view.getBigUint64(p, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(`zip64 ${what} ${v} is out of range`);
    return Number(v);
  };

  // End of central directory: the last signature whose comment fits in the file.
  let eocd = -1;
  for (let p = len - 22; p >= 0 && p >= len - 22 - U16_MAX; p--) {
    if (u32(p) === SIG_EOCD && p + 22 + u16(p + 20) <= len) {
      eocd = p;
      break;
    }
  }
  if (eocd < 0) {
    return fail(
      len >= 4 && u32(0) === SIG_LOCAL
        ? 'truncated zip archive (no end-of-central-directory record)'
        : 'not a PyTorch checkpoint (no zip end-of-central-directory record)',
    );
  }
  if (u16(eocd + 4) !== 0 || u16(eocd + 6) !== 0) fail('multi-disk zip archives are not supported');
  let count = u16(eocd + 10);
  let cdSize = u32(eocd + 12);
  let cdOffset = u32(eocd + 16);
  let cdLimit = eocd; // the central directory ends before this offset
  const loc = eocd - 20;
  if (loc >= 0 && u32(loc) === SIG_ZIP64_LOCATOR) {
    const z = u64(loc + 8, 'end record offset');
    if (z + 56 > loc || u32(z) !== SIG_ZIP64_EOCD) fail('corrupt zip64 end-of-central-directory record');
    count = u64(z + 32, 'entry count');
    cdSize = u64(z + 40, 'central directory size');
    cdOffset = u64(z + 48, 'central directory offset');
    cdLimit = z;
  } else if (count === U16_MAX || cdSize === U32_MAX || cdOffset === U32_MAX) {
    fail('zip64 end-of-central-directory locator missing');
  }
  if (cdOffset + cdSize > cdLimit) fail('central directory extends past its end record (truncated or corrupt file)');
  if (count * 46 > cdSize) fail(`central directory of ${cdSize} bytes cannot hold ${count} entries`);

  const entries: ZipEntry[] = [];
  const seen = new Set<string>();
  let p = cdOffset;
  const cdEnd = cdOffset + cdSize;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cdEnd || u32(p) !== SIG_CENTRAL) fail(`corrupt central directory entry ${i}`);
    const flags = u16(p + 8);
    const method = u16(p + 10);
    const crc = u32(p + 16);
    let csize = u32(p + 20);
    let usize = u32(p + 24);
    const nlen = u16(p + 28);
    const xlen = u16(p + 30);
    const clen = u16(p + 32);
    let lho = u32(p + 42);
    const next = p + 46 + nlen + xlen + clen;
    if (next > cdEnd) fail(`corrupt central directory entry ${i}`);
    const nameBytes = bytes.subarray(p + 46, p + 46 + nlen);
    let name: string;
    try {
      name = utf8.decode(nameBytes);
    } catch {
      return fail(`central directory entry ${i} has a name that is not UTF-8`);
    }
    // zip64 extended information (header id 1): only the saturated fields, in this order.
    for (let q = p + 46 + nlen, end = q + xlen; q + 4 <= end; ) {
      const id = u16(q);
      const size = u16(q + 2);
      if (q + 4 + size > end) fail(`corrupt extra field of ${name}`);
      if (id === 1) {
        let r = q + 4;
        const take = (what: string): number => {
          if (r + 8 > q + 4 + size) fail(`zip64 extra field of ${name} lacks the ${what}`);
          const v = u64(r, what);
          r += 8;
          return v;
        };
        if (usize === U32_MAX) usize = take('size');
        if (csize === U32_MAX) csize = take('compressed size');
        if (lho === U32_MAX) lho = take('header offset');
      }
      q += 4 + size;
    }
    if (flags & 1) fail(`${name} is encrypted`);
    if (method !== 0) fail(`${name} is compressed (method ${method}); torch.save stores records uncompressed`);
    if (csize !== usize) fail(`${name}: stored record with different sizes (${csize} and ${usize})`);
    if (seen.has(name)) fail(`duplicate record ${name}`);
    seen.add(name);
    // Local header: its own name and extra lengths give the data offset (torch pads here).
    if (lho + 30 > cdOffset || u32(lho) !== SIG_LOCAL) fail(`bad local header offset for ${name}`);
    const lnlen = u16(lho + 26);
    const lxlen = u16(lho + 28);
    const start = lho + 30 + lnlen + lxlen;
    if (lnlen !== nlen || !sameBytes(bytes.subarray(lho + 30, lho + 30 + lnlen), nameBytes)) {
      fail(`local header of ${name} names a different record`);
    }
    if (start + usize > cdOffset) fail(`${name} extends past the central directory (truncated or corrupt file)`);
    const data = bytes.subarray(start, start + usize);
    if (crc32(data) !== crc) fail(`${name} fails its CRC-32 check (corrupt file)`);
    entries.push({ name, data, dataOffset: start });
    p = next;
  }
  if (p !== cdEnd) fail(`central directory size ${cdSize} does not match its ${count} entries`);
  return entries;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// ------------------------------------------------------------------------------------ write

export interface ZipRecord {
  readonly name: string;
  readonly data: Uint8Array;
}

export interface ZipWriteOptions {
  /**
   * Sizes and offsets at or above this are written with zip64 fields (default 0xFFFFFFFF, as
   * torch). Lower it only to exercise zip64 readers with small files.
   */
  readonly zip64Limit?: number;
}

/** Writes stored records laid out as torch.save writes them (see the top of this file). */
export function writeZip(records: readonly ZipRecord[], options: ZipWriteOptions = {}): Uint8Array {
  const limit = options.zip64Limit ?? U32_MAX;
  const enc = new TextEncoder();
  interface Placed {
    name: Uint8Array;
    size: number;
    crc: number;
    offset: number;
    zip64: boolean;
    bigSize: boolean;
    bigOffset: boolean;
  }
  // First pass: offsets, so the output is allocated once.
  const placed: Placed[] = [];
  let cursor = 0;
  for (const r of records) {
    const name = enc.encode(r.name);
    if (name.length > U16_MAX) throw new TorchFileError(r.name, 'record name too long for a zip archive');
    const size = r.data.length;
    const bigSize = size >= limit;
    const bigOffset = cursor >= limit;
    const zip64 = bigSize || bigOffset;
    const z64len = zip64 ? 4 + (bigSize ? 16 : 0) + (bigOffset ? 8 : 0) : 0;
    const pad = paddingFor(cursor + 30 + name.length + z64len + 4);
    const descriptor = size === 0 ? 0 : zip64 ? 24 : 16;
    placed.push({ name, size, crc: crc32(r.data), offset: cursor, zip64, bigSize, bigOffset });
    cursor += 30 + name.length + z64len + 4 + pad + size + descriptor;
  }
  const cdOffset = cursor;
  let cdSize = 0;
  for (const e of placed) cdSize += 46 + e.name.length + (e.zip64 ? 4 + (e.bigSize ? 16 : 0) + (e.bigOffset ? 8 : 0) : 0);
  const total = cdOffset + cdSize + 56 + 20 + 22;
  const out = new Uint8Array(total);
  const v = new DataView(out.buffer);
  const w16 = (p: number, x: number): void => v.setUint16(p, x, true);
  const w32 = (p: number, x: number): void => v.setUint32(p, x, true);
  const w64 = (p: number, x: number): void => v.setBigUint64(p, BigInt(x), true);
  const zip64Extra = (p: number, e: Placed): number => {
    w16(p, 1);
    w16(p + 2, (e.bigSize ? 16 : 0) + (e.bigOffset ? 8 : 0));
    let q = p + 4;
    if (e.bigSize) {
      w64(q, e.size);
      w64(q + 8, e.size);
      q += 16;
    }
    if (e.bigOffset) {
      w64(q, e.offset);
      q += 8;
    }
    return q;
  };
  const flagsOf = (e: Placed): number => (e.size === 0 ? 0x0800 : 0x0808); // UTF-8 names; data descriptor

  records.forEach((r, i) => {
    const e = placed[i]!;
    let p = e.offset;
    const z64len = e.zip64 ? 4 + (e.bigSize ? 16 : 0) + (e.bigOffset ? 8 : 0) : 0;
    const pad = paddingFor(p + 30 + e.name.length + z64len + 4);
    w32(p, SIG_LOCAL);
    w16(p + 6, flagsOf(e)); // version needed, time, date, CRC and sizes stay 0 (in the descriptor)
    w16(p + 26, e.name.length);
    w16(p + 28, z64len + 4 + pad);
    out.set(e.name, p + 30);
    p += 30 + e.name.length;
    if (e.zip64) p = zip64Extra(p, e);
    out[p] = 0x46; // 'F'
    out[p + 1] = 0x42; // 'B'
    w16(p + 2, pad);
    out.fill(0x5a, p + 4, p + 4 + pad); // 'Z'
    p += 4 + pad;
    out.set(r.data, p);
    p += e.size;
    if (e.size > 0) {
      w32(p, SIG_DESCRIPTOR);
      w32(p + 4, e.crc);
      if (e.zip64) {
        w64(p + 8, e.size);
        w64(p + 16, e.size);
      } else {
        w32(p + 8, e.size);
        w32(p + 12, e.size);
      }
    }
  });

  let p = cdOffset;
  for (const e of placed) {
    const z64len = e.zip64 ? 4 + (e.bigSize ? 16 : 0) + (e.bigOffset ? 8 : 0) : 0;
    w32(p, SIG_CENTRAL);
    w16(p + 8, flagsOf(e));
    w32(p + 16, e.crc);
    w32(p + 20, e.bigSize ? U32_MAX : e.size);
    w32(p + 24, e.bigSize ? U32_MAX : e.size);
    w16(p + 28, e.name.length);
    w16(p + 30, z64len);
    w32(p + 42, e.bigOffset ? U32_MAX : e.offset);
    out.set(e.name, p + 46);
    p += 46 + e.name.length;
    if (e.zip64) p = zip64Extra(p, e);
  }
  const z = p; // zip64 end of central directory record
  w32(z, SIG_ZIP64_EOCD);
  w64(z + 4, 44);
  w16(z + 12, 0x031e); // version made by (as miniz)
  w16(z + 14, 0x002d); // version needed: 4.5 (zip64)
  w64(z + 24, placed.length);
  w64(z + 32, placed.length);
  w64(z + 40, cdSize);
  w64(z + 48, cdOffset);
  const l = z + 56; // zip64 locator
  w32(l, SIG_ZIP64_LOCATOR);
  w64(l + 8, z);
  w32(l + 16, 1);
  const q = l + 20; // end of central directory
  w32(q, SIG_EOCD);
  w16(q + 8, Math.min(placed.length, U16_MAX));
  w16(q + 10, Math.min(placed.length, U16_MAX));
  w32(q + 12, cdSize >= limit ? U32_MAX : cdSize);
  w32(q + 16, cdOffset >= limit ? U32_MAX : cdOffset);
  return out;
}

/** Bytes of 'Z' padding after a 4-byte 'FB' extra header so that data starting at `start` is aligned. */
function paddingFor(start: number): number {
  const mod = start % ZIP_ALIGNMENT;
  return mod === 0 ? 0 : ZIP_ALIGNMENT - mod;
}
