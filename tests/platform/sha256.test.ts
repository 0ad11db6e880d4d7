// The pure SHA-256 (the core's digest without node:crypto) against node:crypto: the standard
// vectors, every length around the block and padding boundaries, and chunked updates.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Sha256 } from '../../src/io/sha256.ts';

const node = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const pure = (...parts: Uint8Array[]): string => {
  const h = new Sha256();
  for (const p of parts) h.update(p);
  return h.digest();
};
const bytes = (n: number, seed = 1): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 131 + seed * 17 + (i >> 3)) & 255);

describe('Sha256', () => {
  it('gives the standard digests', () => {
    expect(pure(new Uint8Array(0))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(pure(new TextEncoder().encode('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it("equals node:crypto's for every length 0..300 and a few large inputs", () => {
    for (let n = 0; n <= 300; n++) expect(pure(bytes(n, n)), `length ${n}`).toBe(node(bytes(n, n)));
    for (const n of [4095, 65536, 1_000_003]) expect(pure(bytes(n)), `length ${n}`).toBe(node(bytes(n)));
  });

  it('is the same however the input is split into updates', () => {
    const b = bytes(1000, 7);
    for (const cut of [[1], [63, 64], [55, 56, 57], [5, 200, 999]]) {
      const parts = [0, ...cut, b.length].slice(1).map((end, i, a) => b.subarray(i === 0 ? 0 : [0, ...cut][i]!, end));
      expect(pure(...parts), String(cut)).toBe(node(b));
    }
  });

  it('refuses use after digest', () => {
    const h = new Sha256();
    h.digest();
    expect(() => h.update(new Uint8Array(1))).toThrow(/after digest/);
    expect(() => h.digest()).toThrow(/twice/);
  });
});
