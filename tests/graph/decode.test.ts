import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { decodeConnectomeSpec } from '../../src/graph/decode.ts';
import { edgeJson, nodeJson, problemsOf, smallDocument, specOf, type Json } from './specs.ts';

const withEdges = (edges: unknown[]): Json => ({ ...smallDocument(), edges });

describe('decodeConnectomeSpec', () => {
  it('decodes nodes, patterns, edges and offsets into typed values and keeps every key', () => {
    const doc = smallDocument();
    doc.nodes = [...(doc.nodes as Json[]), nodeJson('D', ['tile', 3]), nodeJson('E', ['single', null])];
    const spec = specOf(doc);
    expect(spec.nodes.map((n) => n.name)).toEqual(['A', 'B', 'C', 'D', 'E']);
    expect(spec.nodes.map((n) => n.pattern)).toEqual([
      { kind: 'stride', uStride: 1, vStride: 1 },
      { kind: 'stride', uStride: 1, vStride: 1 },
      { kind: 'stride', uStride: 2, vStride: 1 },
      { kind: 'tile', stride: 3 },
      { kind: 'single' },
    ]);
    expect(spec.nodes[0]!.raw.activation).toBe('relu');
    expect(spec.nodes[0]!.raw.bias).toBe(0.5);
    const e = spec.edges[1]!;
    expect([e.src, e.tar, e.alpha, e.lambdaMult]).toEqual(['B', 'C', 1, 0.75]);
    expect(e.offsets).toEqual([
      { du: 0, dv: 0, nSyn: 2 },
      { du: 1, dv: 0, nSyn: 1 },
      { du: 0, dv: 1, nSyn: 4 },
    ]);
    expect(e.raw.edge_type).toBe('chem');
    expect(e.raw.lambda_mult).toBe(0.75);
    expect(spec.inputUnits).toEqual(['A']);
    expect(spec.outputUnits).toEqual(['C']);
    expect(spec.raw.description).toBe('test');
  });

  it('names the path and the expected form of a malformed offset', () => {
    const bad = [[[0, 0], 1], [[1, 0], 1], [[0, 1], 1], [[1.5, 0], 2]];
    const doc = withEdges(Array.from({ length: 13 }, (_, i) => edgeJson('A', 'B', i === 12 ? bad : [[[0, 0], 1]])));
    expect(problemsOf(doc)).toEqual([
      'edges[12].offsets[3]: expected [[du, dv], n_syn] (integers du, dv and a finite n_syn >= 0), got [[1.5,0],2]',
    ]);
    for (const offset of [[0, 0], [[0, 0]], [[0], 1], [[0, 0], -1], [[0, 0], '3'], 'x', null]) {
      expect(problemsOf(withEdges([edgeJson('A', 'B', [offset])]))[0]).toMatch(
        /^edges\[0\]\.offsets\[0\]: expected \[\[du, dv\], n_syn\]/,
      );
    }
  });

  it('names unknown cell types in edges and in input/output units', () => {
    const doc = withEdges([edgeJson('A', 'B', [[[0, 0], 1]]), edgeJson('Xyz', 'Q', [[[0, 0], 1]])]);
    doc.input_units = ['A', 'Nope'];
    doc.output_units = ['C', 'Gone'];
    expect(problemsOf(doc)).toEqual([
      "edges[1].src: unknown cell type 'Xyz'",
      "edges[1].tar: unknown cell type 'Q'",
      "input_units[1]: unknown cell type 'Nope'",
      "output_units[1]: unknown cell type 'Gone'",
    ]);
  });

  it('rejects duplicate cell type names', () => {
    const doc = smallDocument();
    doc.nodes = [nodeJson('A'), nodeJson('B'), nodeJson('C'), nodeJson('B')];
    expect(problemsOf(doc)).toEqual(["nodes[3].name: duplicate cell type 'B' (first at nodes[1])"]);
  });

  it('rejects malformed patterns, names and edge fields, each named by its path', () => {
    for (const pattern of [['stride', [0, 1]], ['stride', [1]], ['tile', 1.5], ['single', 1], ['hex', 2], 'stride', undefined]) {
      const doc = smallDocument();
      doc.nodes = [nodeJson('A'), nodeJson('B'), { ...nodeJson('C'), pattern }];
      expect(problemsOf(doc)).toEqual([
        `nodes[2].pattern: expected ["stride", [su, sv]], ["tile", n] or ["single", null] with positive integer strides, got ${
          pattern === undefined ? 'nothing (missing)' : JSON.stringify(pattern)
        }`,
      ]);
    }
    const doc = smallDocument();
    (doc.nodes as Json[])[1] = { name: 7, pattern: ['single', null] };
    (doc.edges as Json[])[0] = { ...edgeJson('A', 'B', [[[0, 0], 1]]), alpha: 'minus', lambda_mult: undefined };
    (doc.edges as Json[])[2] = { ...edgeJson('A', 'C', [[[0, 0], 1]]), offsets: 5, tar: '' };
    // Every problem is reported, not only the first; references to 'B' are unknown now too.
    expect(problemsOf(doc)).toEqual([
      'nodes[1].name: expected a non-empty string, got 7',
      'edges[0].alpha: expected a finite number, got "minus"',
      'edges[0].lambda_mult: expected a finite number, got nothing (missing)',
      'edges[2].tar: expected a non-empty string, got ""',
      'edges[2].offsets: expected a list of [[du, dv], n_syn], got 5',
      "edges[0].tar: unknown cell type 'B'",
      "edges[1].src: unknown cell type 'B'",
    ]);
  });

  it('rejects a document without the top-level lists', () => {
    expect(problemsOf([])).toEqual([
      '(root): expected a JSON object with nodes, edges, input_units and output_units, got []',
    ]);
    expect(problemsOf({ nodes: [], edges: {}, input_units: ['A'] })).toEqual([
      'nodes: expected at least one cell type',
      'edges: expected a list of edge types, got {}',
      'output_units: expected a list of cell type names, got nothing (missing)',
      "input_units[0]: unknown cell type 'A'",
    ]);
    expect(problemsOf({ ...smallDocument(), nodes: [nodeJson('A'), 'B', nodeJson('C')] })[0]).toBe(
      'nodes[1]: expected an object with name and pattern, got "B"',
    );
  });

  it('accepts the flyvis file shape: float counts, extra keys, empty edge lists', () => {
    const doc = { ...smallDocument(), edges: [], receptors: [] };
    const r = decodeConnectomeSpec(doc);
    expect(E.isRight(r)).toBe(true);
  });
});
