// flyvis's LayerActivity: a simulation's activity (batch, frames, nNodes) read per cell type,
// for all cells of a type (batch, frames, nCells) or its central cell (batch, frames).
import { Tensor } from '../autograd/index.ts';
import type { Connectome } from '../graph/types.ts';

export class LayerActivity {
  readonly cellTypes: readonly string[];
  private readonly central: ReadonlyMap<string, number>;

  constructor(
    readonly activity: Tensor,
    private readonly connectome: Connectome,
  ) {
    if (activity.shape.length !== 3 || activity.shape[2] !== connectome.nodes.length) {
      throw new Error(`LayerActivity: expected activity of shape (batch, frames, ${connectome.nodes.length}), got (${activity.shape.join(', ')})`);
    }
    this.cellTypes = connectome.uniqueCellTypes;
    this.central = new Map(connectome.uniqueCellTypes.map((t, i) => [t, connectome.centralCellsIndex[i]!]));
  }

  private indexOf(cellType: string): Int32Array {
    const idx = this.connectome.layerIndex.get(cellType);
    if (idx === undefined) throw new Error(`LayerActivity: unknown cell type '${cellType}' (have ${this.cellTypes.join(', ')})`);
    return idx;
  }

  /** Activity of every cell of a type: (batch, frames, nCells). */
  layer(cellType: string): Tensor {
    return this.select(this.indexOf(cellType));
  }

  /** Activity of a type's central cell (u = v = 0): (batch, frames). */
  centralCell(cellType: string): Tensor {
    this.indexOf(cellType);
    const c = this.central.get(cellType)!;
    const t = this.select(Int32Array.of(c));
    return new Tensor(t.data, t.shape.slice(0, 2));
  }

  private select(idx: Int32Array): Tensor {
    const [B, T, N] = this.activity.shape as [number, number, number];
    const out = new Float32Array(B * T * idx.length);
    const src = this.activity.data;
    for (let r = 0; r < B * T; r++) for (let k = 0; k < idx.length; k++) out[r * idx.length + k] = src[r * N + idx[k]!]!;
    return new Tensor(out, [B, T, idx.length]);
  }
}
