// SHA-256 digests of a compiled graph, as defined by the reference data
// (../shared/golden/README.md): equal digests mean the same nodes and edges in the same order.
// Platform-neutral: the hash is the platform's (node:crypto in Node) or the pure SHA-256.
import { sha256 } from '../io/sha256.ts';
import { categoricalColumn, requireNumericColumn } from './table.ts';
import type { ConnectomeProtocol } from './types.ts';

/** One 4-byte field of a record: int32 or float32 values, one per row. */
export type Field = { readonly kind: 'i32' | 'f32'; readonly values: ArrayLike<number> };

const littleEndianHost = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * Little-endian records of the given fields, row after row. Typed-array writes are used on
 * little-endian hosts (fast); `viaTypedArrays = false` forces the portable DataView path.
 */
export function encodeRecords(length: number, fields: readonly Field[], viaTypedArrays = littleEndianHost): Uint8Array {
  return encodeRows(0, length, fields, viaTypedArrays);
}

/** The records of rows [start, end). */
function encodeRows(start: number, end: number, fields: readonly Field[], viaTypedArrays = littleEndianHost): Uint8Array {
  const stride = fields.length;
  const length = end - start;
  const buffer = new ArrayBuffer(4 * stride * length);
  if (viaTypedArrays) {
    const i32 = new Int32Array(buffer);
    const f32 = new Float32Array(buffer);
    fields.forEach((f, j) => {
      const out = f.kind === 'i32' ? i32 : f32;
      for (let i = start, at = j; i < end; i++, at += stride) out[at] = f.values[i]!;
    });
  } else {
    const view = new DataView(buffer);
    fields.forEach((f, j) => {
      for (let i = start, at = 4 * j; i < end; i++, at += 4 * stride) {
        if (f.kind === 'i32') view.setInt32(at, f.values[i]!, true);
        else view.setFloat32(at, f.values[i]!, true);
      }
    });
  }
  return new Uint8Array(buffer);
}

/** Rows hashed per chunk: the records are never built whole (16 bytes x 1.5e8 edges passes Node's 2 GB hash input limit). */
const DIGEST_ROWS = 1 << 20;

/** SHA-256 (hex) of the records, encoded and hashed a chunk at a time. */
function digestRecords(length: number, fields: readonly Field[]): string {
  const hash = sha256();
  for (let start = 0; start < length; start += DIGEST_ROWS) hash.update(encodeRows(start, Math.min(length, start + DIGEST_ROWS), fields));
  return hash.digest();
}

/**
 * The node records of the reference, 12 bytes per node, little-endian: int32 cell-type index
 * (position in the spec's `nodes` list), int32 u, int32 v. Needs nodes.type, u and v.
 */
export function nodeRecords(c: ConnectomeProtocol): Uint8Array {
  return encodeRecords(c.nodes.length, nodeFields(c));
}

function nodeFields(c: ConnectomeProtocol): Field[] {
  const type = categoricalColumn(c.nodes, 'nodes', 'type');
  if (type === undefined) throw new TypeError('nodes.type: missing (required categorical column)');
  return [
    { kind: 'i32', values: type.codes },
    { kind: 'i32', values: requireNumericColumn(c.nodes, 'nodes', 'u') },
    { kind: 'i32', values: requireNumericColumn(c.nodes, 'nodes', 'v') },
  ];
}

/**
 * The edge records of the reference, 16 bytes per edge, little-endian: int32 source_index,
 * int32 target_index, float32 sign, float32 n_syn.
 */
export function edgeRecords(c: ConnectomeProtocol): Uint8Array {
  return encodeRecords(c.edges.length, edgeFields(c));
}

function edgeFields(c: ConnectomeProtocol): Field[] {
  const col = (name: string) => requireNumericColumn(c.edges, 'edges', name);
  return [
    { kind: 'i32', values: col('source_index') },
    { kind: 'i32', values: col('target_index') },
    { kind: 'f32', values: col('sign') },
    { kind: 'f32', values: col('n_syn') },
  ];
}

/** `nodes_sha256`: SHA-256 (hex) of `nodeRecords` (hashed a chunk at a time). */
export const nodesDigest = (c: ConnectomeProtocol): string => digestRecords(c.nodes.length, nodeFields(c));

/** `edges_sha256`: SHA-256 (hex) of `edgeRecords` (hashed a chunk at a time). */
export const edgesDigest = (c: ConnectomeProtocol): string => digestRecords(c.edges.length, edgeFields(c));
