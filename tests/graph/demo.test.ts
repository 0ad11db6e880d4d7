import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { describe, expect, it } from 'vitest';
import { demoConnectome, demoConnectomePath } from '../../src/graph/demo.ts';
import { loadConnectomeSpec } from '../../src/graph/load.ts';

describe('demo connectome', () => {
  const spec = loadConnectomeSpec(demoConnectomePath);

  it('is a file in the project, labelled synthetic', () => {
    expect(isAbsolute(demoConnectomePath)).toBe(true);
    expect(existsSync(demoConnectomePath)).toBe(true);
    const doc = JSON.parse(readFileSync(demoConnectomePath, 'utf8')) as Record<string, unknown>;
    expect(doc.description).toMatch(/synthetic/i);
    expect(doc.synthetic).toBe(true);
  });

  it('has photoreceptor inputs R1..R8, intermediate and output types, and exercises the hull fill', () => {
    expect(spec.inputUnits).toEqual(['R1', 'R2', 'R3', 'R4', 'R5', 'R6', 'R7', 'R8']);
    expect(spec.outputUnits.length).toBeGreaterThanOrEqual(2);
    expect(spec.nodes.every((n) => typeof n.raw.activation === 'string')).toBe(true);
    expect(spec.edges.some((e) => e.offsets.length >= 3)).toBe(true);
    expect(new Set(spec.edges.map((e) => e.alpha))).toEqual(new Set([1, -1]));
    const c = demoConnectome(3);
    expect(c.intermediateCellTypes.length).toBeGreaterThanOrEqual(2);
    const fill = demoConnectome(3, 0.125);
    const filled = Array.from(fill.edges.columns.n_syn as Float32Array).filter((n) => n === 0.125).length;
    expect(filled).toBeGreaterThan(0);
    expect(fill.edges.length).toBe(c.edges.length);
    expect(demoConnectome({ extent: 3, nSynFill: 0 }).edges.length).toBeLessThan(c.edges.length);
  });

  it('compiles at the default extent 15 with every cell type present', () => {
    const c = demoConnectome();
    expect(c.uniqueCellTypes).toEqual(spec.nodes.map((n) => n.name));
    expect(c.centralCellsIndex).toHaveLength(spec.nodes.length);
    for (const t of c.uniqueCellTypes) expect(c.layerIndex.get(t)!.length).toBeGreaterThan(0);
  });
});
