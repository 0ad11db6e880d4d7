import { describe, expect, it } from 'vitest';
import type { Connectome } from '../../src/graph/types.ts';
import { Stimulus, initStimulus, registerStimulus } from '../../src/network/stimulus.ts';

/** Two input types (A, B) with 3 hexals each, interleaved with one hidden type C (2 cells). */
function tinyConnectome(): Connectome {
  const types = ['A', 'C', 'B'];
  const codes = Int32Array.of(0, 0, 0, 1, 1, 2, 2, 2);
  const layerIndex = new Map([
    ['A', Int32Array.of(0, 1, 2)],
    ['C', Int32Array.of(3, 4)],
    ['B', Int32Array.of(5, 6, 7)],
  ]);
  return {
    nodes: { length: 8, columns: { index: Int32Array.from({ length: 8 }, (_, i) => i), type: { kind: 'categorical', codes, categories: types } } },
    edges: { length: 0, columns: { source_index: new Int32Array(0), target_index: new Int32Array(0) } },
    uniqueCellTypes: types,
    inputCellTypes: ['A', 'B'],
    intermediateCellTypes: ['C'],
    outputCellTypes: [],
    centralCellsIndex: Int32Array.of(1, 3, 6),
    layerIndex,
  };
}

const movie = (nS: number, nF: number, nH: number, f: (s: number, t: number, h: number) => number) => ({
  data: Float32Array.from({ length: nS * nF * nH }, (_, i) => f(Math.floor(i / (nF * nH)), Math.floor(i / nH) % nF, i % nH)),
  shape: [nS, nF, 1, nH],
});

describe('Stimulus', () => {
  it('maps each hexal of the movie to every input cell type and nothing else', () => {
    const s = new Stimulus(tinyConnectome(), 1, 1, false); // as the network's: no buffer yet
    expect(s.nInputElements).toBe(3);
    s.addInput(movie(2, 4, 3, (smp, t, h) => 100 * smp + 10 * t + h));
    expect(s.shape).toEqual([2, 4, 8]); // resized to the movie
    const { data } = s.call();
    const at = (smp: number, t: number, n: number) => data[(smp * 4 + t) * 8 + n];
    expect([at(1, 2, 0), at(1, 2, 1), at(1, 2, 2)]).toEqual([120, 121, 122]);
    expect([at(1, 2, 5), at(1, 2, 6), at(1, 2, 7)]).toEqual([120, 121, 122]);
    expect([at(1, 2, 3), at(1, 2, 4)]).toEqual([0, 0]);
    expect(s.nonzero).toBe(true);
  });

  it('writes a temporal slice, cumulates on request, and restarts from zero otherwise', () => {
    const s = new Stimulus(tinyConnectome(), 1, 5);
    s.addInput(movie(1, 2, 3, () => 1), { start: 1, stop: 3, nFramesBuffer: 5 });
    const frame = (t: number) => Array.from(s.call().data.subarray(t * 8, t * 8 + 8));
    expect(frame(0)).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(frame(1)).toEqual([1, 1, 1, 0, 0, 1, 1, 1]);
    expect(frame(3)).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    s.addInput(movie(1, 5, 3, () => 2), { cumulate: true });
    expect(frame(1)).toEqual([3, 3, 3, 0, 0, 3, 3, 3]);
    s.addInput(movie(1, 5, 3, () => 2)); // not cumulative: starts from zero
    expect(frame(1)).toEqual([2, 2, 2, 0, 0, 2, 2, 2]);
    s.addInput(movie(1, 2, 3, () => 5), { start: -2 }); // Python slice semantics
    expect(s.shape).toEqual([1, 2, 8]);
  });

  it('adds a constant grey or one value per frame with addPreStim', () => {
    const s = new Stimulus(tinyConnectome(), 2, 3);
    s.addPreStim(0.5);
    expect(Array.from(s.call().data.subarray(8 * 4, 8 * 5))).toEqual([0.5, 0.5, 0.5, 0, 0, 0.5, 0.5, 0.5]);
    s.addPreStim([0, 1, 2]);
    const d = s.call().data;
    expect([d[0], d[8], d[16], d[24 + 16]]).toEqual([0, 1, 2, 2]);
    expect(() => s.addPreStim([1, 2])).toThrow(/input has shape \(1, 2, 1, 1\) but buffer has shape \(2, 3, 8\)/);
  });

  it('zero resizes only when asked and keeps the shape otherwise', () => {
    const s = new Stimulus(tinyConnectome(), 2, 3);
    s.addPreStim(1);
    s.zero();
    expect(s.shape).toEqual([2, 3, 8]);
    expect(s.call().data.every((x) => x === 0)).toBe(true);
    expect(s.nonzero).toBe(false);
    s.zero(4, 7);
    expect(s.call().data.length).toBe(4 * 7 * 8);
    expect(() => s.zero(1.5)).toThrow(/n_samples: expected a non-negative integer, got 1.5/);
  });

  it('rejects inputs of the wrong shape as flyvis does', () => {
    const s = new Stimulus(tinyConnectome(), 1, 2);
    expect(() => s.addInput({ data: new Float32Array(6), shape: [1, 2, 3] })).toThrow(
      /input has shape \(1, 2, 3\) but must have \(n_samples, n_frames, 1, n_input_elements\)/,
    );
    expect(() => s.addInput(movie(1, 2, 4, () => 0))).toThrow(/input has shape \(1, 2, 1, 4\) but buffer has shape \(1, 2, 8\)/);
    const s2 = new Stimulus(tinyConnectome(), 1, 2);
    expect(() => s2.addInput(movie(1, 3, 3, () => 0), { nFramesBuffer: 2 })).toThrow(/input has shape \(1, 3, 1, 3\) but buffer has shape \(1, 2, 8\)/);
    expect(() => s2.addInput(movie(1, 2, 3, () => NaN))).toThrow(/non-finite value NaN/);
  });

  it('broadcasts size-1 dimensions of the input', () => {
    const s = new Stimulus(tinyConnectome(), 3, 2);
    // A fresh (all-zero) buffer keeps its shape, as in flyvis; the input broadcasts over it.
    s.addInput(movie(1, 1, 3, (_s, _t, h) => h + 1));
    expect(s.shape).toEqual([3, 2, 8]);
    for (let t = 0; t < 6; t++) expect(Array.from(s.call().data.subarray(8 * t, 8 * t + 8))).toEqual([1, 2, 3, 0, 0, 1, 2, 3]);
    // A buffer that holds input is restarted at the input's size.
    s.addInput(movie(1, 1, 3, () => 1), { nFramesBuffer: 2 });
    expect(s.shape).toEqual([1, 2, 8]);
  });

  it('has a registry of stimulus types', () => {
    expect(() => initStimulus(tinyConnectome(), { type: 'Nope' })).toThrow(/stimulus_config\.type: unknown stimulus type "Nope" \(registered: Stimulus/);
    const made: string[] = [];
    registerStimulus('Logged', (c, cfg) => {
      made.push(String(cfg.note));
      return new Stimulus(c);
    });
    expect(initStimulus(tinyConnectome(), { type: 'Logged', note: 'hi' })).toBeInstanceOf(Stimulus);
    expect(made).toEqual(['hi']);
  });

  it('requires every input cell type to cover the same hexals', () => {
    const c = tinyConnectome();
    const bad = { ...c, layerIndex: new Map([...c.layerIndex, ['B', Int32Array.of(5, 6)]]) };
    expect(() => new Stimulus(bad)).toThrow(/input cell types must have equal numbers of cells \(one per hexal\), got A: 3, B: 2/);
  });
});
