// A checkpoint whose sizes do not fit the network: the error says which extents of the connectome
// they fit (flyvis's own checkpoints at extents 2 and 15), or that it was made for another one.
import { describe, expect, it } from 'vitest';
import { compileConnectome } from '../../src/graph/compile.ts';
import { demoConnectomePath } from '../../src/graph/demo.ts';
import { loadConnectomeSpec } from '../../src/graph/load.ts';
import type { ConnectomeSpec } from '../../src/graph/spec.ts';
import {
  CheckpointError,
  type ConnectomeOrigin,
  type ParameterSet,
  checkpointSizeFit,
  checkpointToJSON,
  defaultEdgeConfig,
  defaultNodeConfig,
  explainCheckpointSizes,
  initParameters,
  loadCheckpoint,
} from '../../src/init/index.ts';
import { Network } from '../../src/network/network.ts';
import { CONNECTOME_FILE, hasShared, sharedPath } from '../helpers/shared.ts';

const paramsAt = (spec: ConnectomeSpec, extent: number): ParameterSet =>
  initParameters(compileConnectome(spec, extent, 1), defaultNodeConfig(), defaultEdgeConfig());

function errorOf(f: () => unknown): CheckpointError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(CheckpointError);
    return e as CheckpointError;
  }
  throw new Error('expected a CheckpointError');
}

const cli = (e: number) => `pass --extent ${e}`;

describe('checkpoint sizes against other extents (demo connectome)', () => {
  const spec = loadConnectomeSpec(demoConnectomePath);
  const sets = Array.from({ length: 16 }, (_, e) => paramsAt(spec, e));
  const sizesAt = (e: number) => Object.fromEntries(sets[e]!.parameters.map((p) => [p.stateDictName, p.raw.length]));
  const key = (e: number) => JSON.stringify(sizesAt(e));

  it('finds exactly the extents whose sizes equal the checkpoint\'s, from any extent', () => {
    expect(new Set(sets.map((_, e) => key(e))).size).toBeGreaterThan(2); // the demo's sizes do change with the extent
    for (const made of [0, 1, 2, 5, 15]) {
      const expected = sets.map((_, e) => e).filter((e) => key(e) === key(made)); // brute force
      for (const at of [0, 1, 3, 15]) {
        const fit = checkpointSizeFit(sets[at]!, sizesAt(made), { spec, extent: at, name: 'demo' });
        if (key(at) === key(made)) {
          expect(fit, `made at ${made}, loaded at ${at}`).toBeUndefined();
          continue;
        }
        expect(fit, `made at ${made}, loaded at ${at}`).toEqual({
          connectome: 'demo', extent: at, extents: expected, searched: [0, 15],
          suggestedExtent: expected.includes(15) ? 15 : expected.at(-1),
        });
      }
    }
  });

  it('explains the load error: which extent, in the library\'s words or the caller\'s', () => {
    const checkpoint = checkpointToJSON(sets[0]!);
    const origin: ConnectomeOrigin = { spec, extent: 3, name: 'demo-connectome.json' };
    const plain = errorOf(() => loadCheckpoint(sets[3]!, checkpoint, { connectome: origin }));
    expect(plain.sizeFit).toMatchObject({ extents: [0], suggestedExtent: 0, extent: 3 });
    expect(plain.message.split('\n').at(-1)).toBe("  the checkpoint's sizes fit extent 0 of demo-connectome.json, not extent 3: build the network at extent 0");
    expect(plain.message).not.toMatch(/--/); // the library names no command-line flag
    const withAdvice = errorOf(() => loadCheckpoint(sets[3]!, checkpoint, { connectome: origin, advice: cli }));
    expect(withAdvice.hint).toBe("the checkpoint's sizes fit extent 0 of demo-connectome.json, not extent 3: pass --extent 0");
    expect(withAdvice.problems).toEqual(plain.problems);
    // The problem ends in ';' before the hint, so the message joined into one line reads well.
    expect(withAdvice.message.replace(/\s*\n\s*/g, ' ')).toBe(
      "invalid checkpoint (1 problem): edges_syn_count: expected 59 values, got 22; the checkpoint's sizes fit extent 0 of demo-connectome.json, not extent 3: pass --extent 0",
    );
  });

  it('explains an error thrown by Network.loadCheckpoint afterwards (as the command line does)', () => {
    const net = Network.fromConnectome(compileConnectome(spec, 2, 1));
    const error = errorOf(() => net.loadCheckpoint(checkpointToJSON(sets[0]!)));
    const explained = explainCheckpointSizes(error, net.parameters, { spec, extent: 2, name: 'demo' }, cli);
    expect(explained.sizeFit?.extents).toEqual([0]);
    expect(explained.message).toMatch(/fit extent 0 of demo, not extent 2: pass --extent 0$/);
    expect(explained.problems).toEqual(error.problems);
  });

  it('says no extent fits when some entries are too long and others too short, or for a foreign checkpoint', () => {
    const mixed = { ...sizesAt(2), nodes_bias: sizesAt(2).nodes_bias! + 1, edges_sign: sizesAt(2).edges_sign! - 1 };
    expect(checkpointSizeFit(sets[2]!, mixed, { spec, extent: 2 })).toEqual({
      connectome: 'this connectome', extent: 2, extents: [], suggestedExtent: null, searched: [0, 15],
    });
    const bias = Array(1000).fill(0.5);
    const e = errorOf(() => loadCheckpoint(sets[2]!, { ...checkpointToJSON(sets[2]!), nodes_bias: bias }, { connectome: { spec, extent: 2, name: 'demo' } }));
    expect(e.hint).toBe("the checkpoint's sizes fit no extent 0 to 15 of demo: it was made for another connectome (or another parameter configuration)");
  });

  it('leaves errors without a size mismatch as they are', () => {
    const bad = { ...checkpointToJSON(sets[2]!), nodes_bias: checkpointToJSON(sets[2]!).nodes_bias!.map(() => NaN) };
    const e = errorOf(() => loadCheckpoint(sets[2]!, bad, { connectome: { spec, extent: 2 } }));
    expect(e.sizeFit).toBeUndefined();
    expect(e.hint).toBeUndefined();
    expect(e.message).not.toMatch(/extent/);
  });
});

describe.skipIf(!hasShared)("flyvis's checkpoints at extents 2 and 15 against the other extent", () => {
  const spec = hasShared ? loadConnectomeSpec(CONNECTOME_FILE) : (undefined as never);
  const origin = (extent: number): ConnectomeOrigin => ({ spec, extent, name: 'fib25-fib19_v2.2.json' });

  it('an extent-2 checkpoint in an extent-15 network: it fits extent 2 only', () => {
    const e = errorOf(() => loadCheckpoint(paramsAt(spec, 15), sharedPath('golden', 'extent2', 'params.json'), { connectome: origin(15), advice: cli }));
    expect(e.problems).toEqual(['edges_syn_count: expected 2355 values, got 2310']);
    expect(e.sizeFit).toEqual({ connectome: 'fib25-fib19_v2.2.json', extent: 15, extents: [2], suggestedExtent: 2, searched: [0, 15] });
    expect(e.message).toBe(
      `invalid checkpoint ${sharedPath('golden', 'extent2', 'params.json')} (1 problem):\n` +
        '  edges_syn_count: expected 2355 values, got 2310;\n' +
        "  the checkpoint's sizes fit extent 2 of fib25-fib19_v2.2.json, not extent 15: pass --extent 2",
    );
  });

  it('an extent-15 checkpoint in an extent-2 network: it fits extents 4 to 15, and 15 is suggested', () => {
    const e = errorOf(() => loadCheckpoint(paramsAt(spec, 2), sharedPath('golden', 'extent15', 'params.json'), { connectome: origin(2) }));
    expect(e.problems).toEqual(['edges_syn_count: expected 2310 values, got 2355']);
    expect(e.sizeFit).toEqual({
      connectome: 'fib25-fib19_v2.2.json', extent: 2, extents: [4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15], suggestedExtent: 15, searched: [0, 15],
    });
    expect(e.hint).toBe("the checkpoint's sizes fit extents 4 to 15 of fib25-fib19_v2.2.json, not extent 2: build the network at extent 15");
  });

  it("the demo connectome's checkpoint fits no extent of flyvis's connectome", () => {
    const demo = checkpointToJSON(paramsAt(loadConnectomeSpec(demoConnectomePath), 2));
    const e = errorOf(() => loadCheckpoint(paramsAt(spec, 2), demo, { connectome: origin(2), advice: cli }));
    expect(e.problems).toHaveLength(5);
    expect(e.sizeFit?.extents).toEqual([]);
    expect(e.message.replace(/\s*\n\s*/g, ' ')).toMatch(
      /^invalid checkpoint \(5 problems\): 1\) nodes_bias: expected 65 values, got 14; 2\) .*; 5\) edges_syn_strength: expected 604 values, got \d+; the checkpoint's sizes fit no extent 0 to 15 of fib25-fib19_v2\.2\.json: it was made for another connectome/,
    );
  });
});
