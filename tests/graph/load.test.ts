import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConnectomeFromAvgFilters } from '../../src/graph/compile.ts';
import { demoConnectomePath } from '../../src/graph/demo.ts';
import { ConnectomeError, loadConnectomeSpec } from '../../src/graph/load.ts';
import { connectomeDataDir, findConnectomeFile } from '../../src/graph/paths.ts';
import { edgeJson, smallDocument } from './specs.ts';

const dir = mkdtempSync(join(tmpdir(), 'connectome-'));
const write = (name: string, text: string): string => {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
};

/** The ConnectomeError thrown by `f`. */
function errorOf(f: () => unknown): ConnectomeError {
  try {
    f();
  } catch (e) {
    if (e instanceof ConnectomeError) return e;
    throw e;
  }
  throw new Error('expected a ConnectomeError');
}

describe('loadConnectomeSpec', () => {
  it('loads a valid file', () => {
    const spec = loadConnectomeSpec(write('ok.json', JSON.stringify(smallDocument())));
    expect(spec.nodes.map((n) => n.name)).toEqual(['A', 'B', 'C']);
  });

  it("finds a bare name in the project's data folder, as flyvis does in its own", () => {
    expect(findConnectomeFile('demo-connectome.json')).toBe(demoConnectomePath);
    expect(loadConnectomeSpec('demo-connectome.json')).toEqual(loadConnectomeSpec(demoConnectomePath));
    expect(findConnectomeFile('no-such-connectome.json')).toBeUndefined();
  });

  it('also searches $FLYVIS_CONNECTOME_DIR, before the data folder', () => {
    const prev = process.env.FLYVIS_CONNECTOME_DIR;
    process.env.FLYVIS_CONNECTOME_DIR = dir;
    try {
      const file = write('mine.json', JSON.stringify({ nodes: [], edges: [], input_units: [], output_units: [] }));
      expect(findConnectomeFile('mine.json')).toBe(file);
      expect(() => loadConnectomeSpec('absent.json')).toThrow(`nor in ${dir}, ${connectomeDataDir};`);
    } finally {
      if (prev === undefined) delete process.env.FLYVIS_CONNECTOME_DIR;
      else process.env.FLYVIS_CONNECTOME_DIR = prev;
    }
  });

  it('names a missing file', () => {
    const missing = join(dir, 'nope.json');
    const e = errorOf(() => loadConnectomeSpec(missing));
    expect(e.message).toBe(
      `connectome file ${missing}: file not found (nor in ${connectomeDataDir}; set FLYVIS_CONNECTOME_DIR to the folder holding flyvis's connectome files)`,
    );
    expect(e.file).toBe(missing);
    expect(() => ConnectomeFromAvgFilters(missing, 2)).toThrow(ConnectomeError);
  });

  it('names a file that is not JSON', () => {
    const file = write('broken.json', '{"nodes": [');
    expect(errorOf(() => loadConnectomeSpec(file)).message).toMatch(
      new RegExp(`^connectome file ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not valid JSON \\(.+\\)$`),
    );
  });

  it('lists every problem of a malformed file on one line, naming the file', () => {
    const doc = smallDocument();
    doc.edges = [edgeJson('A', 'Xyz', [[[0, 0], 1]]), edgeJson('A', 'B', [[[0, 0]]])];
    const file = write('bad.json', JSON.stringify(doc));
    const e = errorOf(() => ConnectomeFromAvgFilters(file));
    expect(e.problems).toEqual([
      'edges[1].offsets[0]: expected [[du, dv], n_syn] (integers du, dv and a finite n_syn >= 0), got [[0,0]]',
      "edges[0].tar: unknown cell type 'Xyz'",
    ]);
    expect(e.message).toBe(`connectome file ${file}: 2 problems: ${e.problems.join('; ')}`);
    expect(e.message).not.toContain('\n');
  });

  it('checks extent and n_syn_fill before reading the file', () => {
    expect(() => ConnectomeFromAvgFilters(join(dir, 'nope.json'), -3)).toThrow(/^extent: expected a non-negative integer/);
  });
});
