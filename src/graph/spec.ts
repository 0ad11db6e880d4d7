// The decoded form of a connectome description in flyvis's JSON schema (the schema of
// fib25-fib19_v2.2.json): what `decodeConnectomeSpec` produces and `compileConnectome` consumes.

/**
 * Where the cells of one type sit on the hexagonal lattice (flyvis's `pattern`):
 * `["stride", [su, sv]]` keeps the lattice points with u % su == 0 and v % sv == 0,
 * `["tile", n]` is stride (n, n), `["single", null]` is one cell at u = v = 0.
 */
export type NodePattern =
  | { readonly kind: 'stride'; readonly uStride: number; readonly vStride: number }
  | { readonly kind: 'tile'; readonly stride: number }
  | { readonly kind: 'single' };

/** One cell type (an entry of the file's `nodes`). */
export interface NodeSpec {
  readonly name: string;
  readonly pattern: NodePattern;
  /** The entry exactly as written, every key included (activation, bias, time_constant, ...). */
  readonly raw: Readonly<Record<string, unknown>>;
}

/** One reported (or filled-in) connection offset: `[[du, dv], n_syn]`. */
export interface OffsetSpec {
  readonly du: number;
  readonly dv: number;
  readonly nSyn: number;
}

/** One edge type (an entry of the file's `edges`): all synapses from `src` cells onto `tar` cells. */
export interface EdgeSpec {
  readonly src: string;
  readonly tar: string;
  /** The sign of the synapses (+1 excitatory, -1 inhibitory in flyvis's file). */
  readonly alpha: number;
  readonly offsets: readonly OffsetSpec[];
  /** flyvis's `lambda_mult`; it becomes the edges' `n_syn_certainty`. */
  readonly lambdaMult: number;
  /** The entry exactly as written, every key included (alpha_fixed, edge_type, lambda_mult, ...). */
  readonly raw: Readonly<Record<string, unknown>>;
}

/** A whole connectome description. */
export interface ConnectomeSpec {
  /** Cell types in file order: this order defines `uniqueCellTypes` and the node order. */
  readonly nodes: readonly NodeSpec[];
  readonly edges: readonly EdgeSpec[];
  /** flyvis `input_units`: the cell types that receive the stimulus. */
  readonly inputUnits: readonly string[];
  /** flyvis `output_units`: the cell types that are read out. */
  readonly outputUnits: readonly string[];
  /** The top-level object exactly as written (description, receptors, ...), every key included. */
  readonly raw: Readonly<Record<string, unknown>>;
}

/** The (u, v) strides of a pattern; `single` is (1, 1) on the extent-0 lattice. */
export function patternStrides(p: NodePattern): readonly [number, number] {
  switch (p.kind) {
    case 'stride':
      return [p.uStride, p.vStride];
    case 'tile':
      return [p.stride, p.stride];
    case 'single':
      return [1, 1];
  }
}
