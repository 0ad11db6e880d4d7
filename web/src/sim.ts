// The explorer's simulation, shared by the page's Web Worker and by the tests in Node: flyvis's
// default network (flyvis's connectome at extent 15, default config) and the stimuli the page
// offers, built from the library's datasets (Flashes, MovingEdge) at dt = 1/50. The network is
// stepped a few frames at a time from the 1 s grey steady state, carrying the state between calls,
// which is what Network.simulate computes for the whole movie at once. Imports only the
// platform-neutral core.
import { ConnectomeFromAvgFilters, Dots, isCategorical, npyToFloat32, parseNpy, Flashes, Gratings, MovingBar, MovingEdge, Network, constantFrames, concatFrames, resample, hexLattice, type Connectome, type Frames } from '../../src/core.ts';
import type { Link } from './spec.ts';

import { CONNECTOME, DT, EXTENT, type DatasetSpec, type DrawnSpec } from './spec.ts';

export { CONNECTOME, DT, EXTENT };

/** The stimulus movie (frames, hexals) at dt, from the library's dataset for one item. */
export function stimulusMovie(spec: DatasetSpec, dt = DT): Frames {
  if (spec.kind === 'flash') {
    const d = new Flashes({ extent: EXTENT, dynamicRange: [0, 1], radius: [spec.radius], tPre: spec.tPre, tStim: spec.tStim, dt });
    // items: (intensity, radius) over dynamic_range x radius: index 0 is OFF, 1 is ON
    return d.get(spec.intensity === 1 ? 1 : 0);
  }
  if (spec.kind === 'bar') {
    const d = new MovingBar({ extent: EXTENT, angles: [spec.angle], widths: [spec.width], intensities: [spec.intensity], speeds: [spec.speed], tPre: spec.tPre, tPost: spec.tPost, dt });
    return d.get(0);
  }
  if (spec.kind === 'grating') {
    const d = new Gratings({ extent: EXTENT, angles: [spec.angle], periods: [spec.period], temporalFrequencies: [spec.temporalFrequency], tPre: spec.tPre, tStim: spec.tStim, tPost: 0, dt });
    return d.get(0);
  }
  if (spec.kind === 'dots') {
    // the dataset enumerates dots within max_extent of the centre: the smallest that holds this one
    const distance = Math.max(Math.abs(spec.u), Math.abs(spec.v), Math.abs(spec.u + spec.v));
    if (distance > EXTENT) throw new RangeError(`dots: (u ${spec.u}, v ${spec.v}) is outside the eye (extent ${EXTENT})`);
    const d = new Dots({
      extent: EXTENT, dotColumnRadius: spec.radius, maxExtent: Math.max(distance, spec.radius), bgIntensity: 0.5, intensity: 1,
      mode: spec.mode, impulseDurations: [spec.mode === 'impulse' ? spec.tImpulse : 0], tPre: spec.tPre, tStim: spec.tStim, tPost: spec.tPost, dt,
    });
    const x = spec.intensity === 1 ? 1 : 0;
    const index = d.params.findIndex((p) => p.u === spec.u && p.v === spec.v && p.intensity === x);
    if (index < 0) throw new RangeError(`dots: no dot at (u ${spec.u}, v ${spec.v})`);
    return d.get(index);
  }
  if (spec.kind === 'drawn') return drawnMovie(spec, dt);
  const d = new MovingEdge({ extent: EXTENT, angles: [spec.angle], intensities: [spec.intensity], speeds: [spec.speed], tPre: spec.tPre, tPost: spec.tPost, dt });
  return d.get(0);
}

/**
 * A drawn stimulus's movie: grey 0.5 for tPre, the drawing (grey but the painted hexals) for tStim,
 * then, for 'flash', grey for tPre again; frames as the library's Flashes counts them
 * (trunc(t / dt) each part, the drawing resampled to tStim).
 */
export function drawnMovie(spec: DrawnSpec, dt = DT): Frames {
  const H = hexLattice(EXTENT).length;
  const frame = new Float32Array(H).fill(0.5);
  for (const [h, x] of spec.paint) {
    if (!Number.isInteger(h) || h < 0 || h >= H) throw new RangeError(`drawn stimulus: hexal ${h} is outside the eye (0 to ${H - 1})`);
    if (!(x >= 0 && x <= 1)) throw new RangeError(`drawn stimulus: intensity ${x} of hexal ${h} is outside [0, 1]`);
    frame[h] = x;
  }
  const grey = constantFrames(Math.trunc(spec.tPre / dt), H, 0.5);
  const drawing = resample({ data: frame, shape: [1, H] }, spec.tStim, dt);
  return concatFrames(spec.mode === 'flash' ? [grey, drawing, grey] : [grey, drawing]);
}

/** flyvis's default network at extent 15 on `kernel` (the connectome must be registered or on disk). */
export function defaultNetwork(kernel: string): Network {
  return Network.fromConnectome(ConnectomeFromAvgFilters(CONNECTOME, EXTENT), {}, { kernel });
}

/**
 * Each cell type's connectivity from the connectome, seen from its central cell (u = v = 0): the
 * synapses onto it from each presynaptic type (inputs) and from it onto each postsynaptic type
 * (outputs), summed over the edges (n_syn), with the sign of the connection; largest first.
 */
export function connectivity(c: Connectome): { inputs: Record<string, Link[]>; outputs: Record<string, Link[]> } {
  const types = c.uniqueCellTypes;
  const centralOf = new Map<number, string>();
  types.forEach((t, i) => centralOf.set(c.centralCellsIndex[i]!, t));
  const e = c.edges.columns;
  const src = e.source_index as Int32Array;
  const tar = e.target_index as Int32Array;
  const nSyn = e.n_syn as Float32Array;
  const sign = e.sign as Float32Array;
  const typeName = (col: unknown, k: number): string => {
    if (!isCategorical(col as never)) throw new Error('connectome edges: expected categorical source_type / target_type');
    const cat = col as { codes: Int32Array; categories: readonly string[] };
    return cat.categories[cat.codes[k]!]!;
  };
  const inputs = new Map<string, Map<string, Link>>();
  const outputs = new Map<string, Map<string, Link>>();
  const add = (to: Map<string, Map<string, Link>>, cell: string, other: string, k: number): void => {
    let m = to.get(cell);
    if (m === undefined) to.set(cell, (m = new Map()));
    const before = m.get(other);
    m.set(other, { type: other, sign: sign[k]!, synapses: (before?.synapses ?? 0) + nSyn[k]! });
  };
  for (let k = 0; k < src.length; k++) {
    const into = centralOf.get(tar[k]!);
    if (into !== undefined) add(inputs, into, typeName(e.source_type, k), k);
    const from = centralOf.get(src[k]!);
    if (from !== undefined) add(outputs, from, typeName(e.target_type, k), k);
  }
  const sorted = (m: Map<string, Map<string, Link>>): Record<string, Link[]> =>
    Object.fromEntries(types.map((t) => [t, [...(m.get(t)?.values() ?? [])].sort((a, b) => b.synapses - a.synapses)]));
  return { inputs: sorted(inputs), outputs: sorted(outputs) };
}

/**
 * An uploaded movie (.npy bytes) as frames (frames, hexals): float values, shape (frames, hexals),
 * (frames, 1, hexals) or (1, frames, 1, hexals), one frame per simulation step.
 */
export function movieFromNpy(bytes: Uint8Array, name: string, hexals: number): Frames {
  const a = parseNpy(bytes, name);
  const shape = a.shape;
  const frames = shape.length === 4 ? shape[1]! : shape[0]!;
  const ok =
    shape[shape.length - 1] === hexals &&
    (shape.length === 2 || (shape.length === 3 && shape[1] === 1) || (shape.length === 4 && shape[0] === 1 && shape[2] === 1)) &&
    frames > 0;
  if (!ok) throw new Error(`${name}: shape (${shape.join(', ')}); expected (frames, ${hexals}), (frames, 1, ${hexals}) or (1, frames, 1, ${hexals}) for extent ${EXTENT}`);
  return { data: npyToFloat32(a, name), shape: [frames, hexals] };
}
