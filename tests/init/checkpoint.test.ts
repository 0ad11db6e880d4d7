import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import {
  CheckpointError,
  type ParameterSet,
  checkpointToJSON,
  defaultEdgeConfig,
  defaultNodeConfig,
  getParameter,
  initParameters,
  loadCheckpoint,
  saveCheckpoint,
} from '../../src/init/index.ts';
import { tinyConnectome } from './fixtures.ts';

const dir = mkdtempSync(join(tmpdir(), 'flyvis-ts-init-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const makeSet = (): ParameterSet => initParameters(tinyConnectome(), defaultNodeConfig(), defaultEdgeConfig());

/** A valid checkpoint for the tiny set with distinct values. */
function validCheckpoint(set: ParameterSet): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const p of set.parameters) out[p.stateDictName] = Array.from(p.raw, (_, i) => Math.fround(0.1 * (i + 1) - 0.3));
  return out;
}

/** The problems a failed load reports (and that it failed). */
function problemsOf(set: ParameterSet, source: string | Record<string, unknown>): readonly string[] {
  try {
    loadCheckpoint(set, source);
  } catch (e) {
    expect(e).toBeInstanceOf(CheckpointError);
    return (e as CheckpointError).problems;
  }
  throw new Error('expected the load to fail');
}

/** The CheckpointError `f` throws (failing the test when it throws nothing or something else). */
function errorOf(f: () => unknown): CheckpointError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(CheckpointError);
    return e as CheckpointError;
  }
  throw new Error('expected a CheckpointError');
}

describe('checkpoints', () => {
  it('uses flyvis state_dict names and raw values', () => {
    const set = makeSet();
    const json = checkpointToJSON(set);
    expect(Object.keys(json)).toEqual(['nodes_bias', 'nodes_time_const', 'edges_sign', 'edges_syn_count', 'edges_syn_strength']);
    expect(json.edges_syn_count).toEqual(Array.from(getParameter(set, 'edges_syn_count').raw));
  });

  it('round-trips through a file exactly (save then load gives identical values), writing atomically', () => {
    const set = loadCheckpoint(makeSet(), validCheckpoint(makeSet()));
    const file = join(dir, 'params.json');
    saveCheckpoint(set, file);
    expect(readdirSync(dir)).toEqual(['params.json']); // no temporary file left behind
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(checkpointToJSON(set));
    const loaded = loadCheckpoint(makeSet(), file);
    for (const p of set.parameters) expect(getParameter(loaded, p.stateDictName).raw).toEqual(p.raw);
    // Everything but raw values is kept.
    expect(getParameter(loaded, 'edges_syn_count').keys).toEqual(getParameter(set, 'edges_syn_count').keys);
  });

  it('accepts typed arrays in an object', () => {
    const set = makeSet();
    const data = Object.fromEntries(set.parameters.map((p) => [p.stateDictName, p.raw.map((x) => x + 1)]));
    expect(getParameter(loadCheckpoint(set, data), 'nodes_bias').raw).toEqual(getParameter(set, 'nodes_bias').raw.map((x) => x + 1));
  });

  it('reports a wrong length', () => {
    const set = makeSet();
    const data = { ...validCheckpoint(set), edges_syn_strength: [1, 2, 3] };
    expect(problemsOf(set, data)).toEqual(['edges_syn_strength: expected 4 values, got 3']);
  });

  it('reports a missing name', () => {
    const set = makeSet();
    const { nodes_time_const: _drop, ...data } = validCheckpoint(set);
    expect(problemsOf(set, data)).toEqual(['nodes_time_const: missing (expected 3 values)']);
  });

  it('reports an unknown name', () => {
    const set = makeSet();
    expect(problemsOf(set, { ...validCheckpoint(set), nodes_gain: [1, 2, 3] })).toEqual([
      'nodes_gain: unknown parameter (expected nodes_bias, nodes_time_const, edges_sign, edges_syn_count, edges_syn_strength)',
    ]);
  });

  it('reports non-finite values (null, NaN, Infinity, strings, beyond float32), at most three then a count', () => {
    const set = makeSet();
    expect(problemsOf(set, { ...validCheckpoint(set), nodes_bias: [0.5, null, 0.5] })).toEqual([
      'nodes_bias[1]: expected a finite number, got null',
    ]);
    expect(problemsOf(set, { ...validCheckpoint(set), nodes_bias: [NaN, Infinity, '1'] })).toEqual([
      'nodes_bias[0]: expected a finite number, got NaN',
      'nodes_bias[1]: expected a finite number, got Infinity',
      "nodes_bias[2]: expected a finite number, got '1'",
    ]);
    expect(problemsOf(set, { ...validCheckpoint(set), edges_syn_count: [1, 1e39, 1, 1, 1, 1, 1, 1] })).toEqual([
      'edges_syn_count[1]: expected a finite number, got 1e+39 (outside the float32 range)',
    ]);
    expect(problemsOf(set, { ...validCheckpoint(set), edges_syn_count: Array(8).fill(null) })).toEqual([
      'edges_syn_count[0]: expected a finite number, got null',
      'edges_syn_count[1]: expected a finite number, got null',
      'edges_syn_count[2]: expected a finite number, got null',
      'edges_syn_count: 5 more non-finite values',
    ]);
  });

  it('reports a value that is not an array', () => {
    const set = makeSet();
    expect(problemsOf(set, { ...validCheckpoint(set), edges_sign: 1 })).toEqual(['edges_sign: expected an array of 4 numbers, got 1']);
    expect(problemsOf(set, { ...validCheckpoint(set), edges_sign: { 0: 1 } })).toEqual([
      'edges_sign: expected an array of 4 numbers, got {"0":1}',
    ]);
  });

  it('reports several problems at once, each naming its field', () => {
    const set = makeSet();
    const { nodes_bias: _drop, ...rest } = validCheckpoint(set);
    const data = { ...rest, edges_syn_strength: [1, 2, NaN], edges_sign: 'x', extra: [] };
    const problems = problemsOf(set, data);
    expect(problems).toEqual([
      'nodes_bias: missing (expected 3 values)',
      "edges_sign: expected an array of 4 numbers, got 'x'",
      'edges_syn_strength: expected 4 values, got 3',
      'edges_syn_strength[2]: expected a finite number, got NaN',
      'extra: unknown parameter (expected nodes_bias, nodes_time_const, edges_sign, edges_syn_count, edges_syn_strength)',
    ]);
    {
      const error = errorOf(() => loadCheckpoint(set, data));
      // One numbered problem per line, ';' between them, so that it also reads as one line.
      expect(error.message.split('\n')).toEqual([
        'invalid checkpoint (5 problems):',
        '  1) nodes_bias: missing (expected 3 values);',
        "  2) edges_sign: expected an array of 4 numbers, got 'x';",
        '  3) edges_syn_strength: expected 4 values, got 3;',
        '  4) edges_syn_strength[2]: expected a finite number, got NaN;',
        '  5) extra: unknown parameter (expected nodes_bias, nodes_time_const, edges_sign, edges_syn_count, edges_syn_strength)',
      ]);
      expect(error.message.replace(/\s*\n\s*/g, ' ')).toMatch(/^invalid checkpoint \(5 problems\): 1\) nodes_bias: missing \(expected 3 values\); 2\) edges_sign/);
      // Structured fields: the sizes of the checkpoint's array entries, no size fit without a connectome.
      expect(error.sizes).toEqual({ edges_syn_count: 8, edges_syn_strength: 3, nodes_time_const: 3, extra: 0 });
      expect(error.sizeFit).toBeUndefined();
    }
  });

  it('names the file, and does not number a single problem', () => {
    const set = makeSet();
    const file = join(dir, 'short.json');
    writeFileSync(file, JSON.stringify({ ...validCheckpoint(set), edges_syn_strength: [1, 2, 3] }));
    expect(() => loadCheckpoint(set, file)).toThrow(`invalid checkpoint ${file} (1 problem):\n  edges_syn_strength: expected 4 values, got 3`);
    rmSync(file);
  });

  it('loads time constants <= 0 (flyvis integrates them as dt) with a warning naming each, not below dt', () => {
    const set = makeSet();
    const tau = getParameter(set, 'nodes_time_const');
    const keys = tau.keys.map((k) => `'${String(k)}'`);
    const warnings: string[] = [];
    const onWarning = (m: string) => warnings.push(m);
    const data = { ...validCheckpoint(set), nodes_time_const: [0.05, 0, -0.5] };
    const loaded = loadCheckpoint(set, data, { onWarning });
    expect(Array.from(getParameter(loaded, 'nodes_time_const').raw)).toEqual([0.05, 0, -0.5].map(Math.fround));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toBe(
      `checkpoint: 2 time constants <= 0: nodes_time_const[1] = 0 (${keys[1]}), nodes_time_const[2] = -0.5 (${keys[2]}); ` +
        'as in flyvis, a time constant below dt is integrated as dt (1 / max(time_const, dt)) and gets no gradient',
    );
    // Positive time constants, even below any dt, load silently (flyvis's trained networks have many).
    warnings.length = 0;
    loadCheckpoint(set, { ...validCheckpoint(set), nodes_time_const: [0.001, 0.019, 0.05] }, { onWarning });
    expect(warnings).toEqual([]);
    // More than three are summarised; by default the warning goes to process.emitWarning.
    const emitted: string[] = [];
    const spy = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      const many = initParameters(tinyConnectome(), { ...defaultNodeConfig(), time_const: { ...defaultNodeConfig().time_const, groupby: ['index'] } }, defaultEdgeConfig());
      const n = getParameter(many, 'nodes_time_const').raw.length;
      expect(n).toBeGreaterThan(4);
      loadCheckpoint(many, { ...checkpointToJSON(many), nodes_time_const: Array(n).fill(-1) });
      expect(spy.mock.calls.map((c) => [c[0], c[1]])).toEqual([[expect.any(String), 'CheckpointWarning']]);
      emitted.push(String(spy.mock.calls[0]![0]));
    } finally {
      spy.mockRestore();
    }
    expect(emitted).toHaveLength(1);
    expect(emitted[0]).toMatch(/^checkpoint: \d+ time constants <= 0: nodes_time_const\[0\] = -1 \(.*\), nodes_time_const\[1\] = -1 .*nodes_time_const\[2\] = -1 \(.*\), and \d+ more; as in flyvis/);
  });

  it('reports unreadable files, invalid JSON and non-object checkpoints', () => {
    const set = makeSet();
    const missing = join(dir, 'nope.json');
    expect(problemsOf(set, missing)[0]).toMatch(new RegExp(`^${missing}: cannot read`));
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"nodes_bias": [1, 2');
    expect(problemsOf(set, bad)[0]).toMatch(new RegExp(`^${bad}: not valid JSON`));
    rmSync(bad);
    expect(problemsOf(set, [1, 2] as unknown as Record<string, unknown>)).toEqual([
      'checkpoint: expected an object of parameter arrays, got [1,2]',
    ]);
  });

  it('changes nothing when a load fails', () => {
    const set = makeSet();
    const before = checkpointToJSON(set);
    const file = join(dir, 'keep.json');
    saveCheckpoint(set, file);
    const text = readFileSync(file, 'utf8');
    const data = { ...validCheckpoint(set), edges_sign: [1, 2] };
    expect(() => loadCheckpoint(set, data)).toThrow(CheckpointError);
    expect(checkpointToJSON(set)).toEqual(before);
    expect(readFileSync(file, 'utf8')).toBe(text);
    // The set is still usable and loads a good checkpoint afterwards.
    expect(checkpointToJSON(loadCheckpoint(set, validCheckpoint(set)))).toEqual(validCheckpoint(set));
    rmSync(file);
  });
});
