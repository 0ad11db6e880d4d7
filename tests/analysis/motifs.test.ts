// The analyses on networks built for the purpose: a direction-selective motif against its
// mirror-symmetric twin, and ON- versus OFF-driven cells.
import { describe, expect, it } from 'vitest';
import { computeResponses } from '../../src/analysis/responses.ts';
import { directionSelectivityIndex } from '../../src/analysis/dsi.ts';
import { flashResponseIndex } from '../../src/analysis/fri.ts';
import { Flashes, MovingEdge } from '../../src/stimuli/datasets.ts';
import { HexEye } from '../../src/stimuli/hex-eye.ts';
import { directionSelectiveMotif, onOffCells } from './motifs.ts';

const angularDistance = (a: number, b: number): number => {
  const d = Math.abs(((a - b) % 360) + 360) % 360;
  return Math.min(d, 360 - d);
};

describe('direction selectivity on a designed motif', () => {
  const extent = 3;
  const dt = 1 / 100;
  const run = (mirror: boolean) => {
    const net = directionSelectiveMotif(extent, mirror);
    const edges = new MovingEdge({ extent, speeds: [2.4, 4.8, 9.7] });
    const r = computeResponses(net, edges, { dt, batchSize: 4 });
    return directionSelectivityIndex(r).dsi.filter((row) => row.cell_type === 'DS');
  };
  const motif = run(false);
  const twin = run(true);

  it('gives the designed motif a DSI well above its mirror-symmetric twin (ON edges)', () => {
    const on = motif.find((r) => r.intensity === 1)!;
    const onTwin = twin.find((r) => r.intensity === 1)!;
    expect(on.dsi).toBeGreaterThan(0.15);
    expect(onTwin.dsi).toBeLessThan(0.05);
    expect(on.dsi).toBeGreaterThan(4 * onTwin.dsi);
  });

  it('recovers the designed preferred direction: towards the inhibitory column (0, -1)', () => {
    const on = motif.find((r) => r.intensity === 1)!;
    const designed = HexEye.directionOf(0, -1); // 153.4° on flyvis's monitor (150° on a regular hexagonal grid)
    expect(angularDistance(on.preferred_direction_deg!, designed)).toBeLessThan(10);
    // OFF edges: the motif inverts (release from inhibition leads), preferring the opposite direction
    const off = motif.find((r) => r.intensity === 0)!;
    expect(angularDistance(off.preferred_direction_deg!, designed + 180)).toBeLessThan(30);
  });

  it('reports one row per cell type and intensity with DSI in [0, 1]', () => {
    for (const row of [...motif, ...twin]) {
      expect(row.dsi).toBeGreaterThanOrEqual(0);
      expect(row.dsi).toBeLessThanOrEqual(1);
    }
    expect(motif.map((r) => r.intensity).sort()).toEqual([0, 1]);
  });
});

describe('flash response index on ON- and OFF-driven cells', () => {
  it('gives FRIs of opposite sign', () => {
    const net = onOffCells(2);
    const r = computeResponses(net, new Flashes({ extent: 2 }), { dt: 1 / 200 });
    const rows = flashResponseIndex(r);
    for (const radius of [-1, 6]) {
      const on = rows.find((x) => x.cell_type === 'OnCell' && x.radius === radius)!;
      const off = rows.find((x) => x.cell_type === 'OffCell' && x.radius === radius)!;
      expect(on.fri).toBeGreaterThan(0.2);
      expect(off.fri).toBeLessThan(-0.2);
    }
    // every cell type, both radii
    expect(rows).toHaveLength(net.connectome.uniqueCellTypes.length * 2);
  });
});
