// The .npy header on its own, for writing an array piece by piece (e.g. activity streamed to
// disk frame chunk by frame chunk) with the same bytes encodeNpy would produce.

/** The version 1.0 header (magic, length, dict padded to 64 bytes) of a C-order array. */
export function npyHeader(shape: readonly number[], descr: '<f4' | '<f8' | '<i4' = '<f4'): Uint8Array {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  return out;
}
