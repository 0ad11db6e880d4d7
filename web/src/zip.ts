// Reading a zip archive in the browser (and in Node, for tests): the files of a flyvis results
// directory zipped by the user (`zip -r`, Finder, Windows Explorer, Python's zipfile). Entries
// are stored (method 0) or deflated (method 8); deflate is undone by the platform's
// DecompressionStream('deflate-raw') (Chromium 103+, Firefox 113+, Safari 16.4+, Node 18+), so no
// dependency is needed. Central directory first (zip64 aware), each entry's local header for its
// data offset, every entry's CRC-32 checked. Errors are ZipError naming the archive and, where
// there is one, the entry.
import { crc32 } from '../../src/io/torch/zip.ts';

export class ZipError extends Error {
  override name = 'ZipError';
}

export interface ZipFile {
  /** The entry's path in the archive ('/'-separated). */
  readonly path: string;
  readonly bytes: Uint8Array;
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const U16_MAX = 0xffff;
const U32_MAX = 0xffffffff;
/** Largest archive entry inflated (a network directory's checkpoints are far smaller). */
const MAX_ENTRY_BYTES = 1 << 30;

async function inflateRaw(data: Uint8Array, size: number, fail: (problem: string) => never): Promise<Uint8Array> {
  const DS = (globalThis as { DecompressionStream?: new (format: string) => TransformStream<Uint8Array, Uint8Array> }).DecompressionStream;
  if (DS === undefined) fail("this browser has no DecompressionStream('deflate-raw') to read deflated entries; unzip the folder and drop it instead");
  const out = new Uint8Array(size);
  let at = 0;
  try {
    const stream = new Blob([data as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DS!('deflate-raw'));
    const reader = stream.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (at + value.length > size) fail(`inflates to more than the ${size} bytes its header says`);
      out.set(value, at);
      at += value.length;
    }
  } catch (e) {
    if (e instanceof ZipError) throw e;
    fail(`cannot be inflated (${e instanceof Error ? e.message : String(e)})`);
  }
  if (at !== size) fail(`inflates to ${at} bytes, its header says ${size}`);
  return out;
}

/** The files of a zip archive (directories left out), in central-directory order. `name` names the archive in errors. */
export async function readZipArchive(bytes: Uint8Array, name: string): Promise<ZipFile[]> {
  const fail = (problem: string): never => {
    throw new ZipError(`${name}: ${problem}`);
  };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const len = bytes.length;
  const u16 = (p: number): number => view.getUint16(p, true);
  const u32 = (p: number): number => view.getUint32(p, true);
  const u64 = (p: number, what: string): number => {
    const v = view.getBigUint64(p, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(`zip64 ${what} ${v} is out of range`);
    return Number(v);
  };
  let eocd = -1;
  for (let p = len - 22; p >= 0 && p >= len - 22 - U16_MAX; p--) {
    if (u32(p) === SIG_EOCD && p + 22 + u16(p + 20) <= len) {
      eocd = p;
      break;
    }
  }
  if (eocd < 0) fail(len >= 4 && u32(0) === SIG_LOCAL ? 'truncated zip archive (no end-of-central-directory record)' : 'not a zip archive (no end-of-central-directory record)');
  if (u16(eocd + 4) !== 0 || u16(eocd + 6) !== 0) fail('multi-disk zip archives are not supported');
  let count = u16(eocd + 10);
  let cdSize = u32(eocd + 12);
  let cdOffset = u32(eocd + 16);
  let cdLimit = eocd;
  const loc = eocd - 20;
  if (loc >= 0 && u32(loc) === SIG_ZIP64_LOCATOR) {
    const z = u64(loc + 8, 'end record offset');
    if (z + 56 > loc || u32(z) !== SIG_ZIP64_EOCD) fail('corrupt zip64 end-of-central-directory record');
    count = u64(z + 32, 'entry count');
    cdSize = u64(z + 40, 'central directory size');
    cdOffset = u64(z + 48, 'central directory offset');
    cdLimit = z;
  }
  if (cdOffset + cdSize > cdLimit) fail('central directory extends past its end record (truncated or corrupt archive)');
  if (count * 46 > cdSize) fail(`central directory of ${cdSize} bytes cannot hold ${count} entries`);
  const files: ZipFile[] = [];
  const utf8 = new TextDecoder('utf-8', { fatal: true });
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
    let path: string;
    try {
      path = utf8.decode(bytes.subarray(p + 46, p + 46 + nlen));
    } catch {
      path = new TextDecoder('latin1').decode(bytes.subarray(p + 46, p + 46 + nlen)); // old archivers: CP437, close enough for ASCII names
    }
    for (let q = p + 46 + nlen, end = q + xlen; q + 4 <= end; ) {
      const id = u16(q);
      const size = u16(q + 2);
      if (q + 4 + size > end) fail(`corrupt extra field of ${path}`);
      if (id === 1) {
        let r = q + 4;
        const take = (what: string): number => {
          if (r + 8 > q + 4 + size) fail(`zip64 extra field of ${path} lacks the ${what}`);
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
    p = next;
    if (path.endsWith('/')) continue; // a directory
    const entry = (problem: string): never => fail(`${path}: ${problem}`);
    if (flags & 1) entry('is encrypted');
    if (method !== 0 && method !== 8) entry(`is compressed with method ${method}; only stored (0) and deflated (8) entries are read`);
    if (usize > MAX_ENTRY_BYTES) entry(`is ${usize} bytes, more than ${MAX_ENTRY_BYTES} read here`);
    if (lho + 30 > cdOffset || u32(lho) !== SIG_LOCAL) entry('bad local header offset (corrupt archive)');
    const start = lho + 30 + u16(lho + 26) + u16(lho + 28);
    if (start + csize > cdOffset) entry('extends past the central directory (truncated or corrupt archive)');
    const raw = bytes.subarray(start, start + csize);
    let data: Uint8Array;
    if (method === 0) {
      if (csize !== usize) entry(`stored entry with different sizes (${csize} and ${usize})`);
      data = raw.slice();
    } else data = await inflateRaw(raw, usize, entry);
    if (crc32(data) !== crc) entry('fails its CRC-32 check (corrupt archive)');
    files.push({ path, bytes: data });
  }
  return files;
}
