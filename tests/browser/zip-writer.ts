// A zip archive as `zip -r` writes one, for the explorer's tests: each file deflated (zlib's raw
// deflate) or stored, CRC-32 and sizes in the local and central headers, directories as their own
// entries. Node only (tests).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { crc32 } from '../../src/io/torch/zip.ts';

export interface ZipInput {
  readonly path: string;
  /** Undefined for a directory entry. */
  readonly bytes?: Uint8Array;
}

/** Every file and folder under `dir`, as paths under `prefix` (folders first, then their files, sorted). */
export function filesUnder(dir: string, prefix: string): ZipInput[] {
  const out: ZipInput[] = [{ path: `${prefix}/` }];
  for (const name of readdirSync(dir).sort()) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...filesUnder(full, `${prefix}/${name}`));
    else out.push({ path: `${prefix}/${name}`, bytes: new Uint8Array(readFileSync(full)) });
  }
  return out;
}

export function writeTestZip(entries: readonly ZipInput[], options: { deflate?: boolean } = {}): Uint8Array {
  const enc = new TextEncoder();
  const locals: Uint8Array[] = [];
  const centrals: Uint8Array[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = enc.encode(e.path);
    const data = e.bytes ?? new Uint8Array(0);
    const deflate = options.deflate !== false && e.bytes !== undefined && data.length > 0;
    const body = deflate ? new Uint8Array(deflateRawSync(data)) : data;
    const crc = crc32(data);
    const local = new Uint8Array(30 + name.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(4, 20, true);
    lv.setUint16(8, deflate ? 8 : 0, true);
    lv.setUint32(14, crc, true);
    lv.setUint32(18, body.length, true);
    lv.setUint32(22, data.length, true);
    lv.setUint16(26, name.length, true);
    local.set(name, 30);
    const central = new Uint8Array(46 + name.length);
    const cv = new DataView(central.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, 20, true);
    cv.setUint16(6, 20, true);
    cv.setUint16(10, deflate ? 8 : 0, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, body.length, true);
    cv.setUint32(24, data.length, true);
    cv.setUint16(28, name.length, true);
    cv.setUint32(38, e.bytes === undefined ? 0x10 : 0, true); // external attributes: MS-DOS directory bit
    cv.setUint32(42, offset, true);
    central.set(name, 46);
    locals.push(local, body);
    centrals.push(central);
    offset += local.length + body.length;
  }
  const cdSize = centrals.reduce((n, c) => n + c.length, 0);
  const end = new Uint8Array(22);
  const ev = new DataView(end.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, entries.length, true);
  ev.setUint16(10, entries.length, true);
  ev.setUint32(12, cdSize, true);
  ev.setUint32(16, offset, true);
  const all = new Uint8Array(offset + cdSize + 22);
  let at = 0;
  for (const part of [...locals, ...centrals, end]) {
    all.set(part, at);
    at += part.length;
  }
  return all;
}
