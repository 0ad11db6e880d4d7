// The structured layout the 'wasm' backend runs over (src/backends/wasm.ts), built once per
// network in O(edges):
//
// - Padded node positions: each cell type's nodes on a rectangle of its hexagonal lattice rows
//   (u) by columns (v), with zero margins as wide as the longest edge offset, so that a weight
//   group (source type, target type, du, dv) is one constant shift between two rectangles.
//   Compact ranges of nodes that stay consecutive in the padded layout are *segments*.
// - Runs in padded coordinates: stretches of edges of one weight group whose source and target
//   both step by one, then merged across rows: two runs of the same group and shift are joined
//   when no pair (t, t + shift) between them has a real node at both ends, so the pairs the
//   merged run adds touch padding only (zero activity in, ignored output out). At extent 15
//   flyvis's 1,513,231 edges form 70,091 runs in node order and a few thousand merged ones.
// - A split of the runs and segments between two threads: forward by target, backward by
//   source, at segment boundaries that balance the edges.
import { buildRuns } from '../kernels/structure.ts';
import { ADJOINT_TILE_VECTORS, FORWARD_TILE_VECTORS } from '../kernels/wasm-source.ts';
import type { BackendGraph } from './types.ts';

export interface Segments {
  /** (c0, p0, len) per segment: compact nodes c0..c0+len-1 sit at padded p0..p0+len-1. */
  readonly rec: Int32Array;
  readonly count: number;
}

export interface RunPart {
  /** (s0, t0, len, run) per record, padded coordinates; `run` indexes the merged runs. */
  readonly rec: Int32Array;
  readonly count: number;
  /** Segments this part owns (targets for the forward split, sources for the backward one). */
  readonly segs: Segments;
  /** Its own padded region [lo, hi) (of targets forward, of sources backward). */
  readonly lo: number;
  readonly hi: number;
  /** Its stencil blocks and taps (set by paddedLayout). */
  readonly stencil?: StencilPart;
}

export interface PaddedLayout {
  /** Padded size (positions per sample). */
  readonly P: number;
  /** Padded position of each node. */
  readonly pos: Int32Array;
  readonly segs: Segments;
  /** The merged runs: weight group of each (dense index into the graph's groups). */
  readonly runGroup: Int32Array;
  readonly nRuns: number;
  /** Runs before merging (in node order), for the record. */
  readonly rawRuns: number;
  /** Edge slots the stencil and the runs cover (edges plus the padding pairs they run over). */
  readonly covered: number;
  /** The weight group of each stencil tap. */
  readonly tapGroup: Int32Array;
  /** One part per thread: forward (split by target) and backward (split by source). */
  readonly forward: readonly RunPart[];
  readonly backward: readonly RunPart[];
}

/** Stencil outputs are computed in tiles of at most this many floats (blocks are rounded up to it). */
export const TILE = 32;

/** A cell type's rectangle in the padded layout: positions [start, start + len). */
interface TypeBlock {
  readonly start: number;
  readonly len: number;
}

/** Padded positions from the cell types and lattice coordinates, or the identity without (or when they collide). */
function paddedPositions(graph: BackendGraph): { pos: Int32Array; P: number; blocks: Map<number, TypeBlock> | null } {
  const N = graph.nNodes;
  const identity = { pos: Int32Array.from({ length: N }, (_, i) => i), P: N, blocks: null };
  const layout = graph.layout;
  if (!layout || N === 0) return identity;
  const { type, u, v } = layout;
  let mU = 0;
  let mV = 0;
  for (let e = 0; e < graph.source.length; e++) {
    const s = graph.source[e]!;
    const t = graph.target[e]!;
    mU = Math.max(mU, Math.abs(u[s]! - u[t]!));
    mV = Math.max(mV, Math.abs(v[s]! - v[t]!));
  }
  let vmin = Infinity;
  let vmax = -Infinity;
  const order: number[] = [];
  const umin = new Map<number, number>();
  const umax = new Map<number, number>();
  for (let n = 0; n < N; n++) {
    const t = type[n]!;
    if (!Number.isInteger(u[n]) || !Number.isInteger(v[n])) return identity;
    if (!umin.has(t)) {
      order.push(t);
      umin.set(t, u[n]!);
      umax.set(t, u[n]!);
    }
    umin.set(t, Math.min(umin.get(t)!, u[n]!));
    umax.set(t, Math.max(umax.get(t)!, u[n]!));
    vmin = Math.min(vmin, v[n]!);
    vmax = Math.max(vmax, v[n]!);
  }
  const W = vmax - vmin + 1 + mV;
  // margins of at least a tile between blocks, so rounded-up stencil blocks stay in padding
  const mRows = Math.max(mU, Math.ceil(TILE / W));
  const base = new Map<number, number>();
  const blocks = new Map<number, TypeBlock>();
  let at = mRows * W + mV;
  for (const t of order) {
    base.set(t, at);
    const rows = umax.get(t)! - umin.get(t)! + 1;
    blocks.set(t, { start: at, len: Math.ceil((rows * W) / TILE) * TILE });
    at += (rows + mRows) * W;
  }
  const P = at + mV + TILE + 1;
  if (P > 8 * N + 4096) return identity; // sparse coordinates: padding would cost more than runs save
  const pos = new Int32Array(N);
  const seen = new Uint8Array(P);
  for (let n = 0; n < N; n++) {
    const t = type[n]!;
    const p = base.get(t)! + (u[n]! - umin.get(t)!) * W + (v[n]! - vmin);
    if (seen[p]) return identity;
    seen[p] = 1;
    pos[n] = p;
  }
  return { pos, P, blocks };
}

function segmentsOf(pos: Int32Array, keep: (c: number) => boolean = () => true): Segments {
  const rec: number[] = [];
  for (let c = 0; c < pos.length; c++) {
    if (!keep(c)) continue;
    const k = rec.length - 3;
    if (k >= 0 && rec[k]! + rec[k + 2]! === c && rec[k + 1]! + rec[k + 2]! === pos[c]) rec[k + 2]!++;
    else rec.push(c, pos[c]!, 1);
  }
  return { rec: Int32Array.from(rec), count: rec.length / 3 };
}

/** The candidate padded position below which `side` has (about) half its edges. */
function balancedCut(P: number, candidates: readonly number[], side: Int32Array, pos: Int32Array): number {
  if (side.length === 0 || candidates.length < 2) return P;
  const count = new Float64Array(P + 1);
  for (let e = 0; e < side.length; e++) count[pos[side[e]!]! + 1]!++;
  for (let p = 0; p < P; p++) count[p + 1]! += count[p]!;
  const half = side.length / 2;
  let best = P;
  let bestGap = Infinity;
  for (const p0 of candidates) {
    if (p0 <= 0) continue;
    const gap = Math.abs(count[p0]! - half);
    if (gap < bestGap) {
      bestGap = gap;
      best = p0;
    }
  }
  return best;
}

/** Splits the merged runs at padded position `cut` of one side (0: source, 1: target). */
function splitParts(runs: Int32Array, n: number, field: 0 | 1, cut: number, P: number, pos: Int32Array, threads: number): RunPart[] {
  const whole: RunPart = { rec: runs.slice(0, 4 * n), count: n, segs: segmentsOf(pos), lo: 0, hi: P };
  if (threads < 2 || cut >= P) return [whole, ...(threads < 2 ? [] : [{ ...whole, rec: new Int32Array(0), count: 0, segs: { rec: new Int32Array(0), count: 0 }, lo: P, hi: P }])];
  const lo: number[] = [];
  const hi: number[] = [];
  for (let r = 0; r < n; r++) {
    const s = runs[4 * r]!;
    const t = runs[4 * r + 1]!;
    const L = runs[4 * r + 2]!;
    const id = runs[4 * r + 3]!;
    const start = field === 0 ? s : t;
    const k = Math.max(0, Math.min(L, cut - start)); // slots of this run below the cut
    if (k > 0) lo.push(s, t, k, id);
    if (k < L) hi.push(s + k, t + k, L - k, id);
  }
  return [
    { rec: Int32Array.from(lo), count: lo.length / 4, segs: segmentsOf(pos, (c) => pos[c]! < cut), lo: 0, hi: cut },
    { rec: Int32Array.from(hi), count: hi.length / 4, segs: segmentsOf(pos, (c) => pos[c]! >= cut), lo: cut, hi: P },
  ];
}

/**
 * Which weight groups run as stencil taps: a group whose edges are exactly every pair (t,
 * t + shift) with real nodes of its target and source types at both ends (a translation of the
 * whole lattice, as flyvis's edges are), between dense types (the stencil covers the target
 * type's whole rectangle: at most 3 slots per edge). The rest run as runs.
 */
function stencilGroups(graph: BackendGraph, pos: Int32Array, P: number, blocks: Map<number, TypeBlock>): Int32Array {
  const groups = graph.groups!;
  const G = groups.representative.length;
  const type = graph.layout!.type;
  const E = graph.source.length;
  const count = new Int32Array(G);
  const shift = new Float64Array(G).fill(NaN);
  const uniform = new Uint8Array(G).fill(1);
  for (let e = 0; e < E; e++) {
    const g = groups.index[e]!;
    count[g]!++;
    const d = pos[graph.source[e]!]! - pos[graph.target[e]!]!;
    if (Number.isNaN(shift[g]!)) shift[g] = d;
    else if (shift[g] !== d) uniform[g] = 0;
    const r = groups.representative[g]!;
    if (type[graph.source[e]!] !== type[graph.source[r]!] || type[graph.target[e]!] !== type[graph.target[r]!]) uniform[g] = 0;
  }
  const typeAt = new Int32Array(P).fill(-1);
  for (let n = 0; n < pos.length; n++) typeAt[pos[n]!] = type[n]!;
  const byType = new Map<number, number[]>();
  for (let n = 0; n < pos.length; n++) {
    let l = byType.get(type[n]!);
    if (l === undefined) byType.set(type[n]!, (l = []));
    l.push(pos[n]!);
  }
  const out: number[] = [];
  for (let g = 0; g < G; g++) {
    if (!uniform[g]) continue;
    const r = groups.representative[g]!;
    const S = type[graph.source[r]!]!;
    const T = type[graph.target[r]!]!;
    if (3 * count[g]! < blocks.get(T)!.len) continue;
    let pairs = 0;
    const d = shift[g]!;
    for (const t of byType.get(T)!) if (t + d >= 0 && t + d < P && typeAt[t + d] === S) pairs++;
    if (pairs === count[g]) out.push(g);
  }
  return Int32Array.from(out);
}

export interface StencilPart {
  /** (tile0, nTiles, tap0, nTaps) per block: its tiles and taps. */
  readonly blocks: Int32Array;
  readonly nBlocks: number;
  /**
   * (start, nv) per tile: outputs start..start+4nv, nv = 1..FORWARD_TILE_VECTORS (forward) or
   * 1..ADJOINT_TILE_VECTORS (backward) f32x4 vectors. A block's tiles cover its real positions
   * (nodes) and never overlap, so a tile's outputs past its last node are padding.
   */
  readonly tiles: Int32Array;
  readonly nTiles: number;
  /** (offset, tap) per tap: input position = output position + offset; `tap` indexes tapGroup. */
  readonly taps: Int32Array;
  readonly nTaps: number;
}

/**
 * Stencil blocks and taps of one thread: the blocks of the types it owns (by their start). Each
 * block's outputs are tiles over its real positions only (the hexagon fills about 2/3 of its
 * padded rectangle): from the first node not yet covered, as many vectors as reach the last node
 * within `maxVectors` vectors.
 */
function stencilPart(
  byBlock: Map<number, { start: number; len: number; taps: [number, number][] }>, lo: number, hi: number, real: Uint8Array, maxVectors: number,
): StencilPart {
  const blocks: number[] = [];
  const tiles: number[] = [];
  const taps: number[] = [];
  for (const b of [...byBlock.values()].sort((x, y) => x.start - y.start)) {
    if (b.start < lo || b.start >= hi || b.taps.length === 0) continue;
    const tile0 = tiles.length / 2;
    const end = b.start + b.len;
    for (let p = b.start; p < end; ) {
      if (!real[p]) {
        p++;
        continue;
      }
      let last = p;
      for (let q = p + 1; q < Math.min(p + 4 * maxVectors, end); q++) if (real[q]) last = q;
      const nv = Math.ceil((last - p + 1) / 4);
      tiles.push(p, nv);
      p += 4 * nv;
    }
    blocks.push(tile0, tiles.length / 2 - tile0, taps.length / 2, b.taps.length);
    for (const [off, tap] of b.taps) taps.push(off, tap);
  }
  return {
    blocks: Int32Array.from(blocks), nBlocks: blocks.length / 4, tiles: Int32Array.from(tiles), nTiles: tiles.length / 2,
    taps: Int32Array.from(taps), nTaps: taps.length / 2,
  };
}

/** The padded layout, merged runs, stencil taps and thread parts of a graph with weight groups (graph.groups). */
export function paddedLayout(graph: BackendGraph, threads: number): PaddedLayout {
  const groups = graph.groups!;
  const { pos, P, blocks } = paddedPositions(graph);
  // Stencil taps (one per group, with the group's weight), and the edges left to runs.
  const tapGroup = blocks ? stencilGroups(graph, pos, P, blocks) : new Int32Array(0);
  const isTap = new Uint8Array(groups.representative.length);
  for (const g of tapGroup) isTap[g] = 1;
  const rest = Int32Array.from({ length: graph.source.length }, (_, e) => e).filter((e) => !isTap[groups.index[e]!]);
  const ps = Int32Array.from(rest, (e) => pos[graph.source[e]!]!);
  const pt = Int32Array.from(rest, (e) => pos[graph.target[e]!]!);
  const raw = buildRuns({ nNodes: P, source: ps, target: pt }, Int32Array.from(rest, (e) => groups.index[e]!));
  const real = new Uint8Array(P);
  for (const p of pos) real[p] = 1;
  // Sort by (group, shift, t0), then merge neighbours whose gap pairs touch padding only.
  const idx = Int32Array.from({ length: raw.count }, (_, i) => i);
  const shift = (r: number): number => raw.s0[r]! - raw.t0[r]!;
  const groupOf = (r: number): number => raw.groupIds![raw.group![r]!]!; // the graph's group id
  idx.sort((a, b) => groupOf(a) - groupOf(b) || shift(a) - shift(b) || raw.t0[a]! - raw.t0[b]!);
  const merged: number[] = [];
  for (let k = 0; k < idx.length; k++) {
    const r = idx[k]!;
    const g = groupOf(r);
    const d = shift(r);
    const t0 = raw.t0[r]!;
    const m = merged.length - 4;
    if (m >= 0 && merged[m + 3] === g && merged[m]! - merged[m + 1]! === d) {
      const end = merged[m + 1]! + merged[m + 2]!;
      let ok = t0 >= end;
      for (let t = end; ok && t < t0; t++) if (real[t] && real[t + d]) ok = false;
      if (ok) {
        merged[m + 2] = t0 + raw.len[r]! - merged[m + 1]!;
        continue;
      }
    }
    merged.push(raw.s0[r]!, t0, raw.len[r]!, g);
  }
  // Records (s0, t0, len, run index) ordered by target, so a thread's writes walk its output once.
  const n = merged.length / 4;
  const byTarget = Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => merged[4 * a + 1]! - merged[4 * b + 1]!);
  const runs = new Int32Array(4 * n);
  const runGroup = new Int32Array(n);
  let covered = 0;
  byTarget.forEach((r, i) => {
    runs.set([merged[4 * r]!, merged[4 * r + 1]!, merged[4 * r + 2]!, i], 4 * i);
    runGroup[i] = merged[4 * r + 3]!;
    covered += merged[4 * r + 2]!;
  });
  // Stencil blocks: forward per target type (inputs at t + shift), backward per source type (at s - shift).
  const type = graph.layout?.type;
  const fwdBlocks = new Map<number, { start: number; len: number; taps: [number, number][] }>();
  const bwdBlocks = new Map<number, { start: number; len: number; taps: [number, number][] }>();
  tapGroup.forEach((g, tap) => {
    const r = groups.representative[g]!;
    const S = type![graph.source[r]!]!;
    const T = type![graph.target[r]!]!;
    const d = pos[graph.source[r]!]! - pos[graph.target[r]!]!;
    const add = (m: typeof fwdBlocks, t: number, off: number): void => {
      let b = m.get(t);
      if (b === undefined) m.set(t, (b = { ...blocks!.get(t)!, taps: [] }));
      b.taps.push([off, tap]);
    };
    add(fwdBlocks, T, d);
    add(bwdBlocks, S, -d);
  });
  const segs = segmentsOf(pos);
  // Cuts at a cell type's block start (or a segment start without blocks), balancing edges.
  const cutCandidates = blocks ? [...blocks.values()].map((b) => b.start) : Array.from({ length: segs.count }, (_, k) => segs.rec[3 * k + 1]!);
  const fwdCut = balancedCut(P, cutCandidates, graph.target, pos);
  const bwdCut = balancedCut(P, cutCandidates, graph.source, pos);
  const fwd = splitParts(runs, n, 1, fwdCut, P, pos, threads);
  const bwd = splitParts(runs, n, 0, bwdCut, P, pos, threads);
  const forward = fwd.map((p) => ({ ...p, stencil: stencilPart(fwdBlocks, p.lo, p.hi, real, FORWARD_TILE_VECTORS) }));
  for (const { stencil: st } of forward) {
    for (let k = 0; k < st.nBlocks; k++) {
      let len = 0;
      for (let i = st.blocks[4 * k]!; i < st.blocks[4 * k]! + st.blocks[4 * k + 1]!; i++) len += 4 * st.tiles[2 * i + 1]!;
      covered += len * st.blocks[4 * k + 3]!;
    }
  }
  return {
    P,
    pos,
    segs,
    runGroup,
    nRuns: n,
    rawRuns: raw.count,
    covered,
    tapGroup,
    forward,
    backward: bwd.map((p) => ({ ...p, stencil: stencilPart(bwdBlocks, p.lo, p.hi, real, ADJOINT_TILE_VECTORS) })),
  };
}
