// The page of tests/browser/conv2d-hex-in-chromium.test.ts (bundled with esbuild for the
// browser): exposes `flyvisConv(kind)`, conv2dHex's forward and VJP on the wasm or js kernels,
// the arrays as base64 float32 bytes.
import { runConv } from './conv2d-hex-case.ts';

function base64(a: Float32Array): string {
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function flyvisConv(kind: 'wasm' | 'js'): Record<string, string> {
  const r = runConv(kind);
  return { ran: r.ran, out: base64(r.out), gx: base64(r.gx), gw: base64(r.gw), gb: base64(r.gb) };
}

(globalThis as unknown as { flyvisConv: typeof flyvisConv }).flyvisConv = flyvisConv;
