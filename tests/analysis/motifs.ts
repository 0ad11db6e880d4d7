// Synthetic connectomes built for the analysis tests (flyvis's JSON schema): photoreceptors
// R1..R8 and a few designed cells, with parameters set so that the designed behaviour is
// unambiguous (time constants, biases and synaptic strengths per type).
import * as E from 'fp-ts/lib/Either.js';
import { tensor } from '../../src/autograd/index.ts';
import { compileConnectome } from '../../src/graph/compile.ts';
import { decodeConnectomeSpec } from '../../src/graph/decode.ts';
import { Network } from '../../src/network/network.ts';

const R = ['R1', 'R2', 'R3', 'R4', 'R5', 'R6', 'R7', 'R8'];
const node = (name: string): Record<string, unknown> => ({ name, pattern: ['stride', [1, 1]], activation: 'relu', bias: 0.5 });
const edge = (src: string, tar: string, offsets: [number, number][], alpha: number): Record<string, unknown> => ({
  src,
  tar,
  alpha,
  offsets: offsets.map((o) => [o, 1]),
  lambda_mult: 1,
  edge_type: 'chem',
});

interface Design {
  readonly cells: readonly { name: string; bias: number; tau: number }[];
  readonly edges: readonly { src: string; tar: string; offsets: [number, number][]; sign: number; strength: number }[];
}

export function designedNetwork(d: Design, extent: number): Network {
  const doc = {
    nodes: [...R.map(node), ...d.cells.map((c) => node(c.name))],
    edges: d.edges.map((e) => edge(e.src, e.tar, e.offsets, e.sign)),
    input_units: R,
    output_units: [d.cells[d.cells.length - 1]!.name],
  };
  const spec = decodeConnectomeSpec(doc);
  if (E.isLeft(spec)) throw new Error(spec.left.join('; '));
  const net = Network.fromConnectome(compileConnectome(spec.right, extent));
  const types = net.connectome.uniqueCellTypes;
  const cell = (t: string) => d.cells.find((c) => c.name === t);
  net.setParams({
    nodes_bias: tensor(types.map((t) => cell(t)?.bias ?? 0)),
    nodes_time_const: tensor(types.map((t) => cell(t)?.tau ?? 0.02)),
    edges_syn_strength: tensor(d.edges.map((e) => e.strength)),
  });
  return net;
}

/**
 * A direction-selective motif: DS = Exc(0, 0) - Inh(one neighbour), both relaying R1. The
 * edge offset (0, 1) puts the inhibitory source at v - 1, so an ON edge moving towards -v
 * (180°, from the centre towards the inhibition) excites DS before the inhibition arrives:
 * designed preferred direction 180°. With `mirror`, the inhibition comes equally from v - 1 and
 * v + 1 (point-symmetric: no preferred direction).
 */
export function directionSelectiveMotif(extent: number, mirror: boolean): Network {
  return designedNetwork(
    {
      cells: [
        { name: 'Exc', bias: 0, tau: 0.02 },
        { name: 'Inh', bias: 0, tau: 0.02 },
        { name: 'DS', bias: 0.5, tau: 0.02 },
      ],
      edges: [
        { src: 'R1', tar: 'Exc', offsets: [[0, 0]], sign: 1, strength: 1 },
        { src: 'R1', tar: 'Inh', offsets: [[0, 0]], sign: 1, strength: 1 },
        { src: 'Exc', tar: 'DS', offsets: [[0, 0]], sign: 1, strength: 1 },
        { src: 'Inh', tar: 'DS', offsets: mirror ? [[0, 1], [0, -1]] : [[0, 1]], sign: -1, strength: mirror ? 0.75 : 1.5 },
      ],
    },
    extent,
  );
}

/** An ON cell (excited by R1) and an OFF cell (inhibited by R1, tonically active). */
export function onOffCells(extent: number): Network {
  return designedNetwork(
    {
      cells: [
        { name: 'OnCell', bias: 0, tau: 0.02 },
        { name: 'OffCell', bias: 1, tau: 0.02 },
      ],
      edges: [
        { src: 'R1', tar: 'OnCell', offsets: [[0, 0]], sign: 1, strength: 1 },
        { src: 'R1', tar: 'OffCell', offsets: [[0, 0]], sign: -1, strength: 1 },
      ],
    },
    extent,
  );
}
