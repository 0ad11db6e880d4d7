// `flyvis analyze flashes|moving-edges`: result tables and plots for every cell type, what they
// say about an untrained network and about DSIs below the threshold, progress from the start,
// Ctrl-C and --resume, all-or-nothing output (an earlier result survives a failure), and its
// errors (exit 2, one line on stderr, nothing written). Called in-process (analyze-helpers.ts).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Result, analyzeInProcess } from './analyze-helpers.ts';
import { partialDir, writeOutputs } from '../../src/cli/analyze.ts';
import { parseCsv } from '../../src/analysis/table.ts';
import { demoConnectome } from '../../src/graph/demo.ts';
import { Network } from '../../src/network/network.ts';
import { CONNECTOME_FILE, hasShared, onDemo } from '../helpers/shared.ts';

/** Runs the command in-process on the demo connectome unless the arguments name one. */
const analyze = (args: string[], onStderr?: (text: string) => void): Promise<Result> => analyzeInProcess(onDemo(args), onStderr);

const tmp = () => mkdtempSync(join(tmpdir(), 'flyvis-analyze-'));
const read = (dir: string, name: string) => readFileSync(join(dir, name), 'utf8');
const DEMO_TYPES = 14;
const EDGES = ['--extent', '2', '--dt', '1/100', '--speeds', '9.7,25', '--angles', '0,90,180,270'];

describe('flyvis analyze flashes', () => {
  it('writes FRI per cell type and radius as CSV, JSON and an SVG bar chart; says the network is untrained; progress from the start', async () => {
    const out = join(tmp(), 'fri');
    const r = await analyze(['flashes', '--extent', '2', '--out', out]);
    expect(r.code).toBe(0);
    // progress before any simulation: building the network, then the steady state, then the bar
    const lines = r.stderr.trim().split('\n');
    expect(lines[0]).toMatch(/^flashes \(4 movies\) \[\.+\]\s+0% .*\(building the network \(demo-connectome\.json, extent 2\)\)$/);
    expect(lines[1]).toMatch(/\(grey steady state \(1 s\)\)$/);
    expect(r.stderr).toMatch(/flashes \(4 movies\) \[#+\] 100%/);
    expect(readdirSync(out).sort()).toEqual(['fri.csv', 'fri.json', 'fri.svg']);
    const t = parseCsv(read(out, 'fri.csv'));
    expect(t.columns).toEqual(['cell_type', 'radius', 'fri', 'on_peak', 'off_peak']);
    expect(t.rows).toHaveLength(DEMO_TYPES * 2);
    for (const row of t.rows) expect(Math.abs(row[2] as number)).toBeLessThanOrEqual(1);
    const json = JSON.parse(read(out, 'fri.json'));
    expect(json.experiment).toBe('flashes');
    expect(json.dt).toBe(1 / 200);
    expect(json.untrained).toBe(true);
    expect(json.notes.join(' ')).toMatch(/untrained network/);
    expect(json.rows).toEqual(t.rows);
    expect(r.stdout).toMatch(/note: no --params: these are the responses of an untrained network/);
    const svg = read(out, 'fri.svg');
    expect(svg).toMatch(/^<svg[\s\S]*T4a[\s\S]*<\/svg>$/);
    expect(svg).toContain('flash response index (FRI)');
    expect(svg).toContain('untrained network');
  });
});

describe('flyvis analyze moving-edges', () => {
  it('on an untrained network: every DSI below the threshold, no preferred direction anywhere, and every output says so', async () => {
    const out = join(tmp(), 'dsi');
    const r = await analyze(['moving-edges', ...EDGES, '--quiet', '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['dsi.csv', 'dsi.json', 'dsi.svg', 'tuning.csv', 'tuning.svg']);
    const dsi = parseCsv(read(out, 'dsi.csv'));
    expect(dsi.columns).toEqual(['cell_type', 'intensity', 'dsi', 'preferred_direction_deg', 'dsi_below_threshold']);
    expect(dsi.rows).toHaveLength(DEMO_TYPES * 2);
    for (const row of dsi.rows) {
      expect(row[2] as number).toBeLessThan(0.01);
      expect(row[3]).toBeNull(); // empty cell
      expect(row[4]).toBe('true');
    }
    const json = JSON.parse(read(out, 'dsi.json'));
    expect(json.dsi_threshold).toBe(0.01);
    expect(json.untrained).toBe(true);
    expect(json.rows.every((row: unknown[]) => row[3] === null && row[4] === 'true')).toBe(true);
    expect(json.stimulus_config.speeds).toEqual([9.7, 25]);
    expect(json.stimulus_config.angles).toEqual([0, 90, 180, 270]);
    expect(r.stdout).toMatch(/note: every DSI is below 0\.01 \(largest [\d.e-]+\): no cell type is direction selective/);
    const tuning = parseCsv(read(out, 'tuning.csv'));
    expect(tuning.columns).toEqual(['cell_type', 'intensity', 'angle', 'peak_response', 'normalized']);
    expect(tuning.rows).toHaveLength(DEMO_TYPES * 2 * 4);
    expect(read(out, 'dsi.svg')).toContain('every DSI is below 0.01');
    const polar = read(out, 'tuning.svg');
    expect(polar).toContain('every DSI is below 0.01');
    expect(polar).toContain('untrained network');
  });

  it('--dsi-threshold 0 defines every preferred direction, in [0, 360)', async () => {
    const out = join(tmp(), 'dsi');
    const r = await analyze(['moving-edges', ...EDGES, '--dsi-threshold', '0', '--quiet', '--out', out]);
    expect(r.code).toBe(0);
    const dsi = parseCsv(read(out, 'dsi.csv'));
    for (const row of dsi.rows) {
      expect(row[3] as number).toBeGreaterThanOrEqual(0);
      expect(row[3] as number).toBeLessThan(360);
      expect(row[4]).toBe('false');
    }
    expect(r.stdout).not.toMatch(/below/);
  });

  it('takes directions modulo 360: 1e308 is a direction (296°), and the DSIs are finite', async () => {
    const out = join(tmp(), 'dsi');
    const r = await analyze(['moving-edges', '--extent', '2', '--dt', '1/100', '--speeds', '25', '--angles', '0,1e308', '--quiet', '--out', out]);
    expect(r.code).toBe(0);
    const json = JSON.parse(read(out, 'dsi.json'));
    expect(json.stimulus_config.angles).toEqual([0, 296]);
    for (const row of json.rows) expect(Number.isFinite(row[2])).toBe(true);
  });

  it('Ctrl-C keeps the finished batches beside --out; --resume continues to the same results as an uninterrupted run', async () => {
    const dir = tmp();
    const out = join(dir, 'deep', 'dsi'); // missing parents are created
    let sent = false;
    const first = await analyze(['moving-edges', ...EDGES, '--out', out], (text) => {
      if (!sent && /\] +[1-9]\d*% /.test(text)) {
        sent = true; // after the first batch: as if Ctrl-C was pressed
        process.emit('SIGINT', 'SIGINT');
      }
    });
    expect(first.code).toBe(130);
    expect(first.stderr).toMatch(/stopping after the current batch/);
    expect(first.stderr).toMatch(/flyvis analyze: interrupted; the responses to 4 of 16 movies are kept in .*\.dsi\.partial \(continue with --resume/);
    const partial = partialDir(out);
    // the first batch: the four slowest-speed movies (items 0, 2, 4, 6 of angle x intensity x speed)
    expect(readdirSync(partial).sort()).toEqual(['item-0.npy', 'item-2.npy', 'item-4.npy', 'item-6.npy', 'run.json']);
    expect(existsSync(out)).toBe(false);

    // other inputs: refused, the partial results kept
    const other = await analyze(['moving-edges', ...EDGES.slice(0, 2), '--dt', '1/50', ...EDGES.slice(4), '--resume', '--quiet', '--out', out]);
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/--resume: the partial results in .* are of a different run \(dt: 0\.01 there, 0\.02 now/);
    expect(existsSync(partial)).toBe(true);

    const resumed = await analyze(['moving-edges', ...EDGES, '--resume', '--out', out]);
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toMatch(/\] +[1-9]\d*% .*\(reading back the responses of an interrupted run\)/);
    expect(existsSync(partial)).toBe(false); // a finished run cleans up

    const fresh = join(dir, 'fresh');
    expect((await analyze(['moving-edges', ...EDGES, '--quiet', '--out', fresh])).code).toBe(0);
    for (const name of ['dsi.csv', 'tuning.csv']) expect(read(out, name)).toBe(read(fresh, name));
  });
});

describe.skipIf(!hasShared)('flyvis analyze on the flyvis connectome', () => {
  it('reports all 65 cell types', async () => {
    const out = join(tmp(), 'fri');
    const r = await analyze(['flashes', '--connectome', CONNECTOME_FILE, '--extent', '1', '--dt', '1/100', '--quiet', '--out', out]);
    expect(r.code).toBe(0);
    const t = parseCsv(read(out, 'fri.csv'));
    expect(new Set(t.rows.map((x) => x[0])).size).toBe(65);
    expect(r.stdout).toMatch(/65 cell types/);
  });
});

describe('flyvis analyze output is all or nothing', () => {
  const files = new Map([['dsi.csv', 'new csv'], ['dsi.json', 'new json'], ['tuning.svg', 'new svg']]);
  const earlier = (): string => {
    const out = join(tmp(), 'res');
    mkdirSync(out);
    for (const name of files.keys()) writeFileSync(join(out, name), `old ${name}`);
    writeFileSync(join(out, 'notes.txt'), 'mine');
    return out;
  };
  const enospc = (): Error => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  const leftovers = (out: string): string[] => readdirSync(join(out, '..')).filter((n) => n !== 'res');

  it('a write failing on the last file leaves the earlier result untouched and no temporary folder', () => {
    const out = earlier();
    const io = { writeFile: (p: string, d: string) => (p.endsWith('tuning.svg') ? (() => { throw enospc(); })() : writeFileSync(p, d)), rename: (a: string, b: string) => renameSync(a, b) };
    expect(() => writeOutputs(out, files, io)).toThrow(/cannot write .*tuning\.svg: no space left on the device; the earlier results in .* are unchanged/);
    for (const name of files.keys()) expect(read(out, name)).toBe(`old ${name}`);
    expect(read(out, 'notes.txt')).toBe('mine');
    expect(leftovers(out)).toEqual([]);
  });

  it('a failing swap puts the earlier folder back', () => {
    const out = earlier();
    let calls = 0;
    const io = {
      writeFile: (p: string, d: string) => writeFileSync(p, d),
      rename: (a: string, b: string) => {
        if (++calls === 2) throw Object.assign(new Error('EIO'), { code: 'EIO' }); // the new folder into place
        renameSync(a, b);
      },
    };
    expect(() => writeOutputs(out, files, io)).toThrow(/input\/output error/);
    for (const name of files.keys()) expect(read(out, name)).toBe(`old ${name}`);
    expect(leftovers(out)).toEqual([]);
  });

  it('on success replaces the results and keeps other files; creates missing parents, or removes them on failure', () => {
    const out = earlier();
    writeOutputs(out, files);
    for (const [name, text] of files) expect(read(out, name)).toBe(text);
    expect(read(out, 'notes.txt')).toBe('mine');
    expect(leftovers(out)).toEqual([]);
    const base = tmp();
    writeOutputs(join(base, 'a', 'b', 'res'), files);
    expect(read(join(base, 'a', 'b', 'res'), 'dsi.csv')).toBe('new csv');
    const failing = { writeFile: () => { throw enospc(); }, rename: () => {} };
    const base2 = tmp();
    expect(() => writeOutputs(join(base2, 'a', 'b', 'res'), files, failing)).toThrow(/no space left/);
    expect(readdirSync(base2)).toEqual([]);
  });

  it('a run that fails (the network diverges) leaves an earlier result as it was, and nothing else', async () => {
    const dir = tmp();
    const out = join(dir, 'fri');
    expect((await analyze(['flashes', '--extent', '2', '--quiet', '--out', out])).code).toBe(0);
    const before = read(out, 'fri.csv');
    const net = Network.fromConnectome(demoConnectome(2));
    const dict = net.stateDict() as Record<string, number[]>;
    dict.edges_syn_strength = dict.edges_syn_strength!.map((x) => x * 1e30);
    const params = join(dir, 'blown.json');
    writeFileSync(params, JSON.stringify(dict));
    const r = await analyze(['flashes', '--extent', '2', '--params', params, '--quiet', '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/Infinity|NaN|not finite|diverged/);
    expect(read(out, 'fri.csv')).toBe(before);
    expect(readdirSync(dir).sort()).toEqual(['blown.json', 'fri']);
  });
});

describe('flyvis analyze errors', () => {
  const cases: [string, string[], RegExp][] = [
    ['no experiment', [], /expected an experiment, one of flashes, moving-edges/],
    ['an unknown experiment', ['gratings'], /got 'gratings'/],
    ['a malformed --dt', ['flashes', '--dt', '1/0'], /--dt: expected a positive time step/],
    ['--speeds with flashes', ['flashes', '--speeds', '2'], /moving-edges only/],
    ['bad speeds', ['moving-edges', '--speeds', '2,-1'], /--speeds: expected a comma-separated list of positive finite numbers, got '-1'/],
    ['a repeated speed', ['moving-edges', '--speeds', '2,2'], /--speeds: 2 is given twice/],
    ['a speed too fast for dt', ['moving-edges', '--speeds', '1e308'], /--speeds: 1e\+308 columns\/s crosses .* in less than one time step \(dt 0\.005 s\); expected at most 1629/],
    ['an angle that is not finite', ['moving-edges', '--angles', '0,1e309'], /--angles: expected a comma-separated list of finite numbers, got '1e309'/],
    ['a repeated direction (0 and 720)', ['moving-edges', '--angles', '0,720'], /--angles: 720 and 0 are the same direction \(0° modulo 360\)/],
    ['a bad --dsi-threshold', ['moving-edges', '--dsi-threshold', '2'], /--dsi-threshold: expected a number from 0 to 1, got '2'/],
    ['a missing connectome', ['flashes', '--connectome', '/nonexistent/c.json'], /c\.json/],
    ['a missing checkpoint', ['flashes', '--extent', '1', '--params', '/nonexistent/p.json'], /p\.json/],
  ];
  for (const [what, args, message] of cases) {
    it(`exits 2 on ${what}, one line on stderr, nothing written (no parent folder created)`, async () => {
      const dir = tmp();
      const out = join(dir, 'missing', 'res');
      const r = await analyze([...args, '--out', out, '--quiet']);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^flyvis analyze: /);
      expect(readdirSync(dir)).toEqual([]);
    });
  }

  it('exits 2 when --out is missing or is a file', async () => {
    expect((await analyze(['flashes'])).stderr).toMatch(/--out is required/);
    const file = join(tmp(), 'x');
    writeFileSync(file, 'keep');
    const r = await analyze(['flashes', '--extent', '1', '--out', file]);
    expect(r.code).toBe(2);
    expect(readFileSync(file, 'utf8')).toBe('keep');
  });
});
