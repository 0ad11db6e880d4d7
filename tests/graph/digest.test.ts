import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { compileConnectome } from '../../src/graph/compile.ts';
import { demoConnectome } from '../../src/graph/demo.ts';
import { edgeRecords, edgesDigest, encodeRecords, nodeRecords, nodesDigest } from '../../src/graph/digest.ts';
import { smallDocument, specOf } from './specs.ts';

describe('digests', () => {
  const c = compileConnectome(specOf(smallDocument()), 1);

  it('hashes 12-byte node records (type index, u, v) little-endian', () => {
    const bytes = nodeRecords(c);
    expect(bytes.length).toBe(12 * 17);
    const buf = Buffer.from(bytes);
    // Node 16 is the last C cell: type 2 at (0, 1).
    expect([buf.readInt32LE(16 * 12), buf.readInt32LE(16 * 12 + 4), buf.readInt32LE(16 * 12 + 8)]).toEqual([2, 0, 1]);
    // Node 0 is A at (-1, 0).
    expect([buf.readInt32LE(0), buf.readInt32LE(4), buf.readInt32LE(8)]).toEqual([0, -1, 0]);
    expect(nodesDigest(c)).toBe(createHash('sha256').update(bytes).digest('hex'));
  });

  it('hashes 16-byte edge records (source, target, float32 sign, float32 n_syn) little-endian', () => {
    const bytes = edgeRecords(c);
    expect(bytes.length).toBe(16 * c.edges.length);
    const buf = Buffer.from(bytes);
    expect([buf.readInt32LE(0), buf.readInt32LE(4), buf.readFloatLE(8), buf.readFloatLE(12)]).toEqual([0, 7, -1, 3]);
    expect(edgesDigest(c)).toBe(createHash('sha256').update(bytes).digest('hex'));
  });

  it('hashes in chunks of 2^20 rows exactly as the whole records (more than one chunk and a partial one)', () => {
    const big = demoConnectome(85); // 1,102,788 edges
    expect(big.edges.length).toBeGreaterThan(1 << 20);
    expect(big.edges.length % (1 << 20)).not.toBe(0);
    expect(edgesDigest(big)).toBe(createHash('sha256').update(edgeRecords(big)).digest('hex'));
    expect(nodesDigest(big)).toBe(createHash('sha256').update(nodeRecords(big)).digest('hex'));
  });

  it('writes the same bytes through the portable DataView path as through typed arrays', () => {
    const fields = [
      { kind: 'i32', values: Int32Array.from([-1, 2, 2147483647]) },
      { kind: 'f32', values: Float32Array.from([0.1, -2.5, 1e30]) },
    ] as const;
    const a = encodeRecords(3, fields, true);
    const b = encodeRecords(3, fields, false);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    expect(Buffer.from(b).readFloatLE(4)).toBe(Math.fround(0.1));
    expect(Buffer.from(b).readInt32LE(16)).toBe(2147483647);
  });
});
