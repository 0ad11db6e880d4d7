// How flyvis's decoders see the network (ActivityDecoder / DecoderGAVP.forward): the activity of
// the connectome's output cell types, one channel per type in `output_cell_types` order, each
// type's nodes placed on a cartesian map at (u - min u, v - min v) of get_hex_coords(extent)
// (node i of a type at the i-th hex coordinate), empty map cells 0; and back: the decoder's
// output maps read at the same positions, giving one value per hexal in get_hex_coords order.
import { AutogradError, Tensor, allocate, assertTensor, formatShape } from '../autograd/tensor.ts';
import { defineOp } from '../autograd/tape.ts';
import { hexLatticeSize, stridedPositions } from '../graph/lattice.ts';
import { isCategorical, type Connectome } from '../graph/types.ts';

export class DecoderError extends Error {
  override name = 'DecoderError';
}

export interface HexMapGeometry {
  /** The lattice radius (flyvis: connectome.config.extent). */
  readonly extent: number;
  /** Map height and width: 2 extent + 1. */
  readonly H: number;
  readonly W: number;
  /** Hexals per channel: 3 extent (extent + 1) + 1. */
  readonly nHexals: number;
  /** Map row (u - min u) and column (v - min v) of each hexal, in get_hex_coords order. */
  readonly u: Int32Array;
  readonly v: Int32Array;
  /** The decoder's input channels: the connectome's output cell types, in order. */
  readonly cellTypes: readonly string[];
  /** Nodes of the network (the activity's last axis). */
  readonly nNodes: number;
  /** For each (channel, map row, map column), row-major: the node placed there, or -1 (empty cell). */
  readonly mapIndex: Int32Array;
  /** For each hexal: its position in a flattened map, row * W + column. */
  readonly readIndex: Int32Array;
}

/** The extent whose hexagonal lattice has n points, or undefined when none has. */
function extentOfSize(n: number): number | undefined {
  const e = Math.round((-3 + Math.sqrt(9 + 12 * (n - 1))) / 6);
  return e >= 0 && hexLatticeSize(e) === n ? e : undefined;
}

/**
 * The map geometry of a connectome's output cell types. Every output type must have one node per
 * hexal of one lattice (flyvis's decoders index a type's nodes positionally, as get_hex_coords
 * enumerates the lattice); where the nodes carry u and v, their order is checked against it.
 */
export function hexMapGeometry(connectome: Connectome): HexMapGeometry {
  const types = connectome.outputCellTypes;
  if (types.length === 0) throw new DecoderError('the connectome has no output cell types (output_units) for a decoder to read');
  const first = connectome.layerIndex.get(types[0]!);
  const extent = first === undefined ? undefined : extentOfSize(first.length);
  if (extent === undefined) {
    throw new DecoderError(`output cell type ${types[0]} has ${first?.length ?? 0} nodes, which is no hexagonal lattice (3 e (e + 1) + 1 nodes)`);
  }
  const { u: hu, v: hv } = stridedPositions(extent, 1, 1);
  const nHexals = hu.length;
  const H = 2 * extent + 1;
  const W = H;
  const cols = connectome.nodes.columns;
  const nu = cols.u !== undefined && !isCategorical(cols.u) ? cols.u : undefined;
  const nv = cols.v !== undefined && !isCategorical(cols.v) ? cols.v : undefined;
  const mapIndex = new Int32Array(types.length * H * W).fill(-1);
  types.forEach((type, c) => {
    const nodes = connectome.layerIndex.get(type);
    if (nodes === undefined || nodes.length !== nHexals) {
      throw new DecoderError(
        `output cell type ${type} has ${nodes?.length ?? 0} nodes but ${types[0]} has ${nHexals} (extent ${extent}): a decoder needs every output type on the full lattice`,
      );
    }
    for (let i = 0; i < nHexals; i++) {
      const node = nodes[i]!;
      if (nu !== undefined && nv !== undefined && (nu[node] !== hu[i] || nv[node] !== hv[i])) {
        throw new DecoderError(
          `output cell type ${type}: node ${node} is at (u, v) = (${nu[node]}, ${nv[node]}) but is the type's node ${i}, which flyvis's decoders place at (${hu[i]}, ${hv[i]}) (get_hex_coords order)`,
        );
      }
      mapIndex[(c * H + hu[i]! + extent) * W + hv[i]! + extent] = node;
    }
  });
  const u = Int32Array.from(hu, (x) => x + extent);
  const v = Int32Array.from(hv, (x) => x + extent);
  const readIndex = Int32Array.from(u, (r, i) => r * W + v[i]!);
  return { extent, H, W, nHexals, u, v, cellTypes: [...types], nNodes: connectome.nodes.length, mapIndex, readIndex };
}

interface GatherAttrs {
  readonly index: Int32Array;
  readonly size: number;
}

const gatherOp = defineOp<GatherAttrs>({
  name: 'gatherOrZero',
  forward(inputs, { index, size }) {
    const x = inputs[0]!;
    const rows = x.shape.slice(0, -1).reduce((a, d) => a * d, 1);
    const m = index.length;
    const out = allocate(rows * m, x.dtype);
    for (let r = 0; r < rows; r++) {
      const src = r * size;
      const dst = r * m;
      for (let j = 0; j < m; j++) {
        const k = index[j]!;
        if (k >= 0) out[dst + j] = x.data[src + k]!;
      }
    }
    return { out: new Tensor(out, [...x.shape.slice(0, -1), m]) };
  },
  vjp(g, { inputs, attrs: { index, size } }) {
    const x = inputs[0]!;
    const rows = x.shape.slice(0, -1).reduce((a, d) => a * d, 1);
    const m = index.length;
    const gx = allocate(x.size, x.dtype);
    for (let r = 0; r < rows; r++) {
      const src = r * m;
      const dst = r * size;
      for (let j = 0; j < m; j++) {
        const k = index[j]!;
        if (k >= 0) gx[dst + k]! += g.data[src + j]!;
      }
    }
    return [new Tensor(gx, x.shape)];
  },
});

/**
 * out[..., j] = x[..., index[j]], or 0 where index[j] is -1 (a gather along the last axis with
 * empty places; its VJP scatter-adds back).
 */
export function gatherOrZero(x: Tensor, index: Int32Array): Tensor {
  assertTensor(x, 'gatherOrZero');
  if (x.rank < 1) throw new AutogradError(`gatherOrZero: x must have at least one axis, got ${formatShape(x.shape)}`);
  const size = x.shape[x.rank - 1]!;
  for (let j = 0; j < index.length; j++) {
    const k = index[j]!;
    if (!(k >= -1 && k < size)) throw new AutogradError(`gatherOrZero: index[${j}] = ${k} is outside [-1, ${size})`);
  }
  return gatherOp([x], { index, size });
}
