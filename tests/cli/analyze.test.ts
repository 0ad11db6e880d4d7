// `flyvis analyze flashes|moving-edges`: result tables and plots for every cell type, and its
// errors (exit 2, one line on stderr, no output directory). Called in-process through run().
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { run } from '../../src/cli/analyze.ts';
import { parseCsv } from '../../src/analysis/table.ts';
import { CONNECTOME_FILE, hasShared } from '../helpers/shared.ts';

async function analyze(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((stdout += String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((stderr += String(s)), true));
  try {
    const code = await run(args);
    return { code, stdout, stderr };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

const tmp = () => mkdtempSync(join(tmpdir(), 'flyvis-analyze-'));
const DEMO_TYPES = 14;

describe('flyvis analyze flashes', () => {
  it('writes FRI per cell type and radius as CSV, JSON and an SVG bar chart, with a progress bar', async () => {
    const out = join(tmp(), 'fri');
    const r = await analyze('flashes', '--extent', '2', '--out', out);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/flashes \(4 movies\) \[#+\] 100%/);
    expect(readdirSync(out).sort()).toEqual(['fri.csv', 'fri.json', 'fri.svg']);
    const t = parseCsv(readFileSync(join(out, 'fri.csv'), 'utf8'));
    expect(t.columns).toEqual(['cell_type', 'radius', 'fri', 'on_peak', 'off_peak']);
    expect(t.rows).toHaveLength(DEMO_TYPES * 2);
    for (const row of t.rows) expect(Math.abs(row[2] as number)).toBeLessThanOrEqual(1);
    const json = JSON.parse(readFileSync(join(out, 'fri.json'), 'utf8'));
    expect(json.experiment).toBe('flashes');
    expect(json.dt).toBe(1 / 200);
    expect(json.rows).toEqual(t.rows);
    expect(readFileSync(join(out, 'fri.svg'), 'utf8')).toMatch(/^<svg[\s\S]*T4a[\s\S]*<\/svg>$/);
  });
});

describe('flyvis analyze moving-edges', () => {
  it('writes DSI, preferred direction and tuning for subsampled speeds and directions', async () => {
    const out = join(tmp(), 'dsi');
    const r = await analyze('moving-edges', '--extent', '2', '--dt', '1/100', '--speeds', '9.7,25', '--angles', '0,90,180,270', '--quiet', '--out', out);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['dsi.csv', 'dsi.json', 'dsi.svg', 'tuning.csv', 'tuning.svg']);
    const dsi = parseCsv(readFileSync(join(out, 'dsi.csv'), 'utf8'));
    expect(dsi.columns).toEqual(['cell_type', 'intensity', 'dsi', 'preferred_direction_deg']);
    expect(dsi.rows).toHaveLength(DEMO_TYPES * 2);
    const tuning = parseCsv(readFileSync(join(out, 'tuning.csv'), 'utf8'));
    expect(tuning.rows).toHaveLength(DEMO_TYPES * 2 * 4);
    const json = JSON.parse(readFileSync(join(out, 'dsi.json'), 'utf8'));
    expect(json.stimulus_config.speeds).toEqual([9.7, 25]);
    expect(json.stimulus_config.angles).toEqual([0, 90, 180, 270]);
    expect(readFileSync(join(out, 'tuning.svg'), 'utf8')).toMatch(/^<svg/);
  });
});

describe.skipIf(!hasShared)('flyvis analyze on the flyvis connectome', () => {
  it('reports all 65 cell types', async () => {
    const out = join(tmp(), 'fri');
    const r = await analyze('flashes', '--connectome', CONNECTOME_FILE, '--extent', '1', '--dt', '1/100', '--quiet', '--out', out);
    expect(r.code).toBe(0);
    const t = parseCsv(readFileSync(join(out, 'fri.csv'), 'utf8'));
    expect(new Set(t.rows.map((x) => x[0])).size).toBe(65);
    expect(r.stdout).toMatch(/65 cell types/);
  });
});

describe('flyvis analyze errors', () => {
  const cases: [string, string[], RegExp][] = [
    ['no experiment', [], /expected an experiment, one of flashes, moving-edges/],
    ['an unknown experiment', ['gratings'], /got 'gratings'/],
    ['a malformed --dt', ['flashes', '--dt', '1/0'], /--dt: expected a positive number/],
    ['--speeds with flashes', ['flashes', '--speeds', '2'], /moving-edges only/],
    ['bad speeds', ['moving-edges', '--speeds', '2,-1'], /--speeds: expected a comma-separated list of positive numbers/],
    ['a missing connectome', ['flashes', '--connectome', '/nonexistent/c.json'], /c\.json/],
    ['a missing checkpoint', ['flashes', '--extent', '1', '--params', '/nonexistent/p.json'], /p\.json/],
  ];
  for (const [what, args, message] of cases) {
    it(`exits 2 on ${what}, one line on stderr, no output`, async () => {
      const dir = tmp();
      const out = join(dir, 'res');
      const r = await analyze(...args, '--out', out, '--quiet');
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^flyvis analyze: /);
      expect(existsSync(out)).toBe(false);
      expect(readdirSync(dir)).toEqual([]);
    });
  }

  it('exits 2 when --out is missing or is a file', async () => {
    expect((await analyze('flashes')).stderr).toMatch(/--out is required/);
    const file = join(tmp(), 'x');
    writeFileSync(file, 'keep');
    const r = await analyze('flashes', '--extent', '1', '--out', file);
    expect(r.code).toBe(2);
    expect(readFileSync(file, 'utf8')).toBe('keep');
  });
});
