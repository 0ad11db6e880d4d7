// Small connectome descriptions for tests, written as flyvis JSON documents.
import * as E from 'fp-ts/lib/Either.js';
import { decodeConnectomeSpec } from '../../src/graph/decode.ts';
import type { ConnectomeSpec } from '../../src/graph/spec.ts';

export type Json = Record<string, unknown>;

export const nodeJson = (name: string, pattern: unknown = ['stride', [1, 1]]): Json => ({
  name,
  pattern,
  activation: 'relu',
  bias: 0.5,
});

export const edgeJson = (src: string, tar: string, offsets: unknown, alpha = 1, lambdaMult = 2.5): Json => ({
  src,
  tar,
  alpha,
  offsets,
  lambda_mult: lambdaMult,
  edge_type: 'chem',
});

/** A valid three-type document: A (input), B (intermediate), C (output, stride [2, 1]). */
export function smallDocument(): Json {
  return {
    nodes: [nodeJson('A'), nodeJson('B'), nodeJson('C', ['stride', [2, 1]])],
    edges: [
      edgeJson('A', 'B', [[[0, 0], 3.0]], -1, 1.5),
      edgeJson('B', 'C', [[[0, 0], 2.0], [[1, 0], 1.0], [[0, 1], 4.0]], 1, 0.75),
      edgeJson('A', 'C', [[[-1, 0], 1.0], [[1, 0], 1.0], [[0, -1], 2.0], [[0, 1], 2.0]], 1, 3.0),
    ],
    input_units: ['A'],
    output_units: ['C'],
    description: 'test',
  };
}

/** Decodes a document that must be valid. */
export function specOf(doc: unknown): ConnectomeSpec {
  const r = decodeConnectomeSpec(doc);
  if (E.isLeft(r)) throw new Error(`test document is invalid: ${r.left.join('; ')}`);
  return r.right;
}

/** The problems a document must have. */
export function problemsOf(doc: unknown): readonly string[] {
  const r = decodeConnectomeSpec(doc);
  if (E.isRight(r)) throw new Error('expected the document to be rejected');
  return r.left;
}
