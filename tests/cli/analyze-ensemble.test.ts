// `flyvis analyze flashes|moving-edges --ensemble DIR`: every member of a flyvis ensemble
// analysed in worker threads, each from its own config and best checkpoint; rows with a leading
// model column equal to analysing that member alone; summaries per cell type with the known
// polarities / directions counted; --best K by validation loss; Ctrl-C keeps the finished
// members and --resume continues to the same result; bad input refused (exit 2, one line,
// nothing written). Small work: temp ensembles of two members of flyvis's published ensemble
// (symlinked, read-only), built at extent 4 (their parameters fit extents 4 to 15).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, symlinkSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Result, analyzeInProcess } from './analyze-helpers.ts';
import { partialDir } from '../../src/cli/analyze.ts';
import { parseCsv } from '../../src/analysis/table.ts';
import { flashResponseIndex } from '../../src/analysis/fri.ts';
import { computeResponses } from '../../src/analysis/responses.ts';
import { Flashes } from '../../src/stimuli/datasets.ts';
import { loadNetworkDir } from '../../src/results/network-dir.ts';
import { sharedPath } from '../helpers/shared.ts';

const PRETRAINED = sharedPath('flyvis', 'pretrained-v0.1.0', 'opticflow', '000');
const hasEnsemble = existsSync(join(PRETRAINED, '_meta.yaml'));
if (!hasEnsemble) console.warn(`[flyvis-ts tests] skipping ensemble CLI tests: ${PRETRAINED} (flyvis's trained ensemble) is absent`);

const analyze = analyzeInProcess;

const tmp = (): string => mkdtempSync(join(tmpdir(), 'flyvis-ensemble-'));
const read = (dir: string, name: string): string => readFileSync(join(dir, name), 'utf8');
const ENSEMBLE_META = JSON.stringify({ config: { type: 'EnsembleDir' }, status: 'done' });

/** A temp ensemble whose numbered members are symlinks to the given members of flyvis's ensemble. */
function ensembleOf(members: readonly string[]): string {
  const dir = join(tmp(), 'ens');
  mkdirSync(dir);
  writeFileSync(join(dir, '_meta.yaml'), ENSEMBLE_META);
  members.forEach((m, i) => symlinkSync(join(PRETRAINED, m), join(dir, String(i).padStart(4, '0'))));
  return dir;
}

/** Every output and the partial folder beside `out`: what "nothing written" checks. */
const written = (out: string): boolean => existsSync(out) || existsSync(partialDir(out));

describe.skipIf(!hasEnsemble)('flyvis analyze --ensemble', () => {
  // flyvis's 0000 and 0001 (validation losses 5.137 and 5.191), named the other way round here so
  // that the best member is not the first.
  const ens = hasEnsemble ? ensembleOf(['0001', '0000']) : '';
  const name = (id: string): string => `${ens.split('/').slice(-2).join('/')}/${id}`;

  it('flashes: a model column, rows equal to each member analysed alone, summaries, the known polarities counted, the ensemble plot', async () => {
    const out = join(tmp(), 'fri');
    const r = await analyze(['flashes', '--ensemble', ens, '--extent', '4', '--workers', '2', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['fri.csv', 'fri.json', 'fri.svg', 'fri_summary.csv', 'fri_summary.json']);
    // progress for the whole ensemble: members done / running and the time left
    expect(r.stderr).toMatch(/flashes, 2 networks of \S+ \[\.+\]\s+0% .*\(starting 2 worker threads\)/);
    expect(r.stderr).toMatch(/networks done, \d running on 2 workers/);
    expect(r.stderr).toMatch(/\[#+\] 100%/);
    const t = parseCsv(read(out, 'fri.csv'));
    expect(t.columns).toEqual(['model', 'cell_type', 'radius', 'fri', 'on_peak', 'off_peak']);
    expect(t.rows).toHaveLength(2 * 65 * 2);
    expect([...new Set(t.rows.map((row) => row[0]))]).toEqual([name('0000'), name('0001')]); // members by name
    // Each member's rows are those of the member analysed alone (its config, best checkpoint, extent 4).
    const loaded = await loadNetworkDir(join(ens, '0001'), { extent: 4 });
    const alone = flashResponseIndex(computeResponses(loaded.network, new Flashes({ extent: 4, dt: 1 / 200 }), { dt: 1 / 200 }));
    const mine = t.rows.filter((row) => row[0] === name('0001'));
    expect(mine).toEqual(alone.map((a) => [name('0001'), a.cell_type, a.radius, a.fri, a.on_peak, a.off_peak]));

    const s = parseCsv(read(out, 'fri_summary.csv'));
    expect(s.columns).toEqual(['cell_type', 'radius', 'n_models', 'fri_median', 'fri_q1', 'fri_q3', 'fri_min', 'fri_max', 'known_polarity', 'predicted_polarity']);
    expect(s.rows).toHaveLength(65 * 2);
    const l1 = s.rows.find((row) => row[0] === 'L1' && row[1] === 6)!;
    const l1fri = t.rows.filter((row) => row[1] === 'L1' && row[2] === 6).map((row) => row[3] as number);
    expect(l1[3]).toBeCloseTo((l1fri[0]! + l1fri[1]!) / 2, 14); // the median of two
    expect(l1[8]).toBe(-1);

    const json = JSON.parse(read(out, 'fri.json'));
    expect(json.ensemble).toBe(ens.split('/').slice(-2).join('/'));
    expect(json.n_models).toBe(2);
    expect(json.untrained).toBe(false);
    expect(json.models.map((m: { model: string; rank: number }) => [m.model, m.rank])).toEqual([[name('0000'), 2], [name('0001'), 1]]);
    expect(json.known_polarity.radius).toBe(6);
    expect(json.known_polarity.n_known).toBe(32);
    expect(json.known_polarity.n_predicted).toBe(32 - json.known_polarity.mismatches.length);
    expect(json.known_polarity.n_predicted).toBeGreaterThanOrEqual(24); // trained networks get most of them
    expect(json.known_polarity_by_radius.map((k: { radius: number }) => k.radius)).toEqual([-1, 6]);
    expect(JSON.parse(read(out, 'fri_summary.json')).known_polarity).toEqual(json.known_polarity);
    expect(r.stdout).toContain(`the ensemble median FRI of 2 networks predicts ${json.known_polarity.n_predicted} of 32 known ON/OFF polarities`);
    const svg = read(out, 'fri.svg');
    expect(svg).toMatch(/^<svg[\s\S]*<\/svg>$/);
    expect(svg).toContain('Flash response index across 2 networks');
    expect(svg).toContain('known OFF');
  });

  it('--best K analyses the K members with the lowest validation loss', async () => {
    const out = join(tmp(), 'best');
    const r = await analyze(['flashes', '--ensemble', ens, '--best', '1', '--extent', '4', '--quiet', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const json = JSON.parse(read(out, 'fri.json'));
    expect(json.models.map((m: { model: string }) => m.model)).toEqual([name('0001')]); // flyvis's 0000, loss 5.137
    expect(json.models[0].validation_loss).toBeCloseTo(5.1366, 3);
    expect(json.selection).toBe('the 1 of 2 members with the lowest validation loss');
    expect(r.stdout).toMatch(/1 networks of .*\(the 1 of 2 members with the lowest validation loss\).*1 worker;/);
  });

  it('moving-edges: DSI rows per member, summaries with the T4/T5 directions, the preferred-direction plot', async () => {
    const out = join(tmp(), 'dsi');
    const r = await analyze(['moving-edges', '--ensemble', ens, '--extent', '4', '--dt', '1/100', '--speeds', '19', '--angles', '0,90,180,270', '--quiet', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['dsi.csv', 'dsi.json', 'dsi.svg', 'dsi_summary.csv', 'dsi_summary.json', 'preferred_directions.svg', 'tuning.csv', 'tuning.svg']);
    const t = parseCsv(read(out, 'dsi.csv'));
    expect(t.columns).toEqual(['model', 'cell_type', 'intensity', 'dsi', 'preferred_direction_deg', 'dsi_below_threshold']);
    expect(t.rows).toHaveLength(2 * 65 * 2);
    expect(parseCsv(read(out, 'tuning.csv')).columns).toEqual(['model', 'cell_type', 'intensity', 'angle', 'peak_response', 'normalized']);
    const s = parseCsv(read(out, 'dsi_summary.csv'));
    expect(s.columns[0]).toBe('cell_type');
    const t4a = s.rows.find((row) => row[0] === 'T4a' && row[1] === 1)!;
    expect(t4a[s.columns.indexOf('known_preferred_direction_deg')]).toBe(180);
    const json = JSON.parse(read(out, 'dsi.json'));
    expect(json.known_preferred_directions.n_known).toBe(8);
    expect(r.stdout).toMatch(/the circular mean over 2 networks predicts \d of 8 known T4\/T5 preferred directions/);
    const svg = read(out, 'preferred_directions.svg');
    expect(svg).toContain('T4a, ON edges');
    expect(svg).toContain('T5d, OFF edges');
  });

  it('Ctrl-C keeps the finished members and says so; --resume analyses only the rest, to the same result', async () => {
    const dir = tmp();
    const out = join(dir, 'fri');
    const part = partialDir(out);
    // Stop as soon as the first member's results are kept (one worker: the second is still running).
    const poll = setInterval(() => {
      if (existsSync(part) && readdirSync(part).some((f) => f.startsWith('member-'))) {
        clearInterval(poll);
        process.emit('SIGINT', 'SIGINT');
      }
    }, 20);
    let r: Result;
    try {
      r = await analyze(['flashes', '--ensemble', ens, '--extent', '4', '--workers', '1', '--out', out]);
    } finally {
      clearInterval(poll);
    }
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toContain(`flyvis analyze: interrupted; the results of 1 of 2 networks are kept in ${part} (continue with --resume`);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(part).sort()).toEqual(['member-0000.json', 'run.json']);
    // another run's inputs are refused
    const other = await analyze(['flashes', '--ensemble', ens, '--extent', '5', '--resume', '--quiet', '--out', out]);
    expect(other.code, other.stderr).toBe(2);
    expect(other.stderr).toMatch(/--resume: the partial results in .* are of a different run \(extent: 4 there, 5 now; /);
    const resumed = await analyze(['flashes', '--ensemble', ens, '--extent', '4', '--workers', '1', '--resume', '--out', out]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain('(1 networks read back)');
    expect(resumed.stderr).toMatch(/0 of 2 networks done|1 of 2 networks done/);
    expect(existsSync(part)).toBe(false);
    const whole = join(dir, 'whole');
    expect((await analyze(['flashes', '--ensemble', ens, '--extent', '4', '--quiet', '--out', whole])).code).toBe(0);
    expect(read(out, 'fri.csv')).toBe(read(whole, 'fri.csv'));
    expect(read(out, 'fri_summary.csv')).toBe(read(whole, 'fri_summary.csv'));
  });

  it('a member whose checkpoint is unreadable is refused naming it (exit 2), nothing written', async () => {
    const bad = join(tmp(), 'bad');
    mkdirSync(join(bad, '0000'), { recursive: true });
    writeFileSync(join(bad, '_meta.yaml'), ENSEMBLE_META);
    symlinkSync(join(PRETRAINED, '0000'), join(bad, '0001'));
    copyFileSync(join(PRETRAINED, '0000', '_meta.yaml'), join(bad, '0000', '_meta.yaml'));
    copyFileSync(join(PRETRAINED, '0000', 'validation_loss.h5'), join(bad, '0000', 'validation_loss.h5'));
    writeFileSync(join(bad, '0000', 'best_chkpt'), 'not a torch file');
    const out = join(tmp(), 'out');
    const r = await analyze(['flashes', '--ensemble', bad, '--extent', '4', '--quiet', '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^flyvis analyze: network .*bad\/0000: .*best_chkpt/);
    expect(written(out)).toBe(false);
  });

  it('refuses --best beyond the members, and --ensemble with --params, --connectome or --n-syn-fill (exit 2, nothing written)', async () => {
    const out = join(tmp(), 'x');
    const cases: [string[], RegExp][] = [
      [['--best', '3'], /--best: 3 is more than the 2 members of .*; expected 1 to 2/],
      [['--best', '0'], /--best/],
      [['--workers', '0'], /--workers/],
      [['--params', join(PRETRAINED, '0000')], /--ensemble and --params: give one/],
      [['--connectome', 'demo'], /--ensemble and --connectome: give one/],
      [['--n-syn-fill', '1'], /--ensemble and --n-syn-fill: give one/],
    ];
    for (const [extra, message] of cases) {
      const r = await analyze(['flashes', '--ensemble', ens, ...extra, '--out', out]);
      expect(r.code, extra.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n'), extra.join(' ')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
      expect(written(out)).toBe(false);
    }
    const member = await analyze(['flashes', '--ensemble', join(PRETRAINED, '0000'), '--out', out]);
    expect(member.code).toBe(2);
    expect(member.stderr).toMatch(/is a network directory \(_meta\.yaml says NetworkDir\), not an ensemble/);
    expect(written(out)).toBe(false);
  });
});

describe('flyvis analyze --ensemble: bad input without the reference data', () => {
  it('refuses an empty or foreign directory, a missing one, and --best / --workers without --ensemble (exit 2, one line, nothing written)', async () => {
    const empty = join(tmp(), 'empty');
    mkdirSync(empty);
    const foreign = join(tmp(), 'foreign');
    mkdirSync(foreign);
    writeFileSync(join(foreign, 'notes.txt'), 'hello');
    const noMembers = join(tmp(), 'nomembers');
    mkdirSync(noMembers);
    writeFileSync(join(noMembers, '_meta.yaml'), ENSEMBLE_META);
    const out = join(tmp(), 'out');
    const cases: [string[], RegExp][] = [
      [['--ensemble', empty], /empty.*: empty directory, expected a flyvis results directory/],
      [['--ensemble', foreign], /foreign.*: not a flyvis results directory: no _meta\.yaml \(holds notes\.txt\)/],
      [['--ensemble', join(foreign, 'missing')], /missing.*: no such directory/],
      [['--ensemble', noMembers], /ensemble directory without members: no numbered member folders/],
      [['--ensemble', ''], /--ensemble: expected a flyvis ensemble directory/],
      [['--best', '2'], /--best applies to --ensemble only/],
      [['--workers', '2'], /--workers applies to --ensemble only/],
    ];
    for (const [extra, message] of cases) {
      const r = await analyze(['flashes', ...extra, '--out', out]);
      expect(r.code, extra.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n'), extra.join(' ')).toHaveLength(1);
      expect(r.stderr, extra.join(' ')).toMatch(message);
      expect(written(out)).toBe(false);
    }
  });
});

describe('flyvis analyze on one network: the known polarities and directions counted too', () => {
  it('fri.json says how many known polarities the sign of the FRI predicts; dsi.json the known T4/T5 directions', async () => {
    const { demoConnectomePath } = await import('../../src/graph/demo.ts');
    const out = join(tmp(), 'one');
    const r = await analyze(['flashes', '--connectome', demoConnectomePath, '--extent', '2', '--quiet', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(read(out, 'fri.json'));
    // the demo's types with a known polarity: R1-R8, L1, L2, Mi1, Tm3, T4a (Lawf2 is unknown)
    expect(json.known_polarity.n_known).toBe(13);
    expect(json.known_polarity.absent).toHaveLength(32 - 13);
    expect(json.known_polarity.n_predicted + json.known_polarity.mismatches.length).toBe(13);
    expect(r.stdout).toContain(`this untrained network predicts ${json.known_polarity.n_predicted} of 13 known ON/OFF polarities (sign of the FRI, flash radius 6)`);
    const edges = join(tmp(), 'edges');
    const e = await analyze(['moving-edges', '--connectome', demoConnectomePath, '--extent', '2', '--dt', '1/100', '--speeds', '25', '--angles', '0,180', '--quiet', '--out', edges]);
    expect(e.code, e.stderr).toBe(0);
    const dsi = JSON.parse(read(edges, 'dsi.json'));
    expect(dsi.known_preferred_directions.n_known).toBe(1); // T4a with ON edges
    expect(dsi.known_preferred_directions.types[0]).toMatchObject({ cell_type: 'T4a', intensity: 1, known_deg: 180 });
    expect(e.stdout).toMatch(/this untrained network predicts [01] of 1 known T4\/T5 preferred directions/);
  });
});
