// bench/flow-train-report.ts on a small run: a `flyvis train` run at extent 4 (3 checkpoints)
// and two members of flyvis's ensemble built at extent 4. Its numbers are checked against
// `flyvis analyze`, an independent path through the same library (single networks with --params,
// the ensemble with --ensemble in worker threads): every FRI at radius 6, every T4/T5 DSI and
// preferred direction, the ensemble's known-polarity and known-direction counts. Then the
// ensemble cache: reused when nothing changed, refused for other stimuli; and the figure and
// tables render the numbers.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { flowTrainReport, ensembleNumbers, reportFigure, reportMarkdown, MOTION_TYPES, type Report } from '../../bench/flow-train-report.ts';
import { parseCsv } from '../../src/analysis/table.ts';
import { knownDirectionIntensity } from '../../src/analysis/groundtruth.ts';
import { run as train } from '../../src/cli/train.ts';
import { renderSVG } from '../../src/plot/render.ts';
import { analyzeInProcess } from '../cli/analyze-helpers.ts';
import { inProcess } from '../cli/fit-helpers.ts';
import { sharedPath } from '../helpers/shared.ts';

const PRETRAINED = sharedPath('flyvis', 'pretrained-v0.1.0', 'opticflow', '000');
const hasEnsemble = existsSync(join(PRETRAINED, '_meta.yaml'));
if (!hasEnsemble) console.warn(`[flyvis-ts tests] skipping the flow training report test: ${PRETRAINED} (flyvis's trained ensemble) is absent`);

const tmp = (): string => mkdtempSync(join(tmpdir(), 'flyvis-report-'));
// cheap stimuli: dt 1/50 (flyvis's warning limit), edges in 4 directions at one speed
const DT = ['--dt', '1/50'];
const EDGES = ['--speeds', '13', '--angles', '0,90,180,270'];
const SETTINGS = { dt: 1 / 50, speeds: [13], angles: [0, 90, 180, 270] };

/** CSV rows of `flyvis analyze` output as objects. */
function table(file: string): Record<string, string | number | null>[] {
  const t = parseCsv(readFileSync(file, 'utf8'));
  return t.rows.map((row) => Object.fromEntries(t.columns.map((c, i) => [c, row[i] ?? null])));
}

async function analyze(args: string[]): Promise<string> {
  const out = join(tmp(), 'out');
  const r = await analyzeInProcess([...args, ...DT, '--quiet', '--out', out]);
  expect(r.code, r.stderr).toBe(0);
  return out;
}

describe.skipIf(!hasEnsemble)('bench/flow-train-report.ts', () => {
  it("a run's checkpoints and the ensemble: the numbers of flyvis analyze; the cache; figure and tables", async () => {
    const root = tmp();
    const run = join(root, 'run');
    const t = await inProcess(train, '--task', 'flow', '--out', run, '--connectome', 'fib25-fib19_v2.2.json', '--extent', '4',
      '--train-items', '8', '--val-items', '2', '--progress-every', '0', '--iters', '4', '--checkpoint-every', '2');
    expect(t.code, t.stderr).toBe(0);
    const ens = join(root, 'ens');
    mkdirSync(ens);
    writeFileSync(join(ens, '_meta.yaml'), JSON.stringify({ config: { type: 'EnsembleDir' }, status: 'done' }));
    ['0000', '0001'].forEach((m) => symlinkSync(join(PRETRAINED, m), join(ens, m)));
    const cache = join(root, 'cache.json');
    const logs: string[] = [];
    const r: Report = await flowTrainReport(run, ens, SETTINGS, cache, { log: (m) => logs.push(m) });

    // the three states: checkpoint 0, the one of lowest validation loss, the last
    const valLoss = r.curves.valLoss;
    const best = valLoss.indexOf(Math.min(...valLoss));
    expect(r.states.map((s) => [s.state, s.checkpoint_index, s.iteration])).toEqual([['initialisation', 0, 0], ['best', best, [0, 2, 4][best]], ['last', 2, 4]]);
    expect(r.curves.epe).toHaveLength(3);
    expect(r.curves.zeroEpe).toBeGreaterThan(0);
    expect(r.seconds_per_iteration).toBeGreaterThan(0);

    // the last state's FRI and T4/T5 DSI = flyvis analyze --params on its checkpoint
    for (const s of [r.states[2]!]) {
      const params = ['--connectome', 'fib25-fib19_v2.2.json', '--extent', '4', '--params', s.checkpoint];
      const fri = table(join(await analyze(['flashes', ...params]), 'fri.csv')).filter((row) => row.radius === 6);
      expect(fri).toHaveLength(65);
      expect(Object.fromEntries(fri.map((row) => [row.cell_type, row.fri]))).toEqual(s.fri);
      const dsi = table(join(await analyze(['moving-edges', ...params, ...EDGES]), 'dsi.csv'));
      const motion = MOTION_TYPES.map((type) => {
        const row = dsi.find((x) => x.cell_type === type && x.intensity === knownDirectionIntensity(type))!;
        return { cell_type: type, intensity: row.intensity, dsi: row.dsi, preferred_direction_deg: row.preferred_direction_deg };
      });
      expect(motion).toEqual(s.motion);
    }

    // the ensemble's members = flyvis analyze --ensemble (worker threads), member by member
    const ensArgs = ['--ensemble', ens, '--extent', '4', '--workers', '1'];
    const friDir = await analyze(['flashes', ...ensArgs]);
    const dsiDir = await analyze(['moving-edges', ...ensArgs, ...EDGES]);
    const friRows = table(join(friDir, 'fri.csv')).filter((row) => row.radius === 6);
    const dsiRows = table(join(dsiDir, 'dsi.csv'));
    const members = await ensembleNumbers(ens, SETTINGS, cache, { extent: 4, log: (m) => logs.push(m) });
    expect(members).toHaveLength(2);
    for (const m of members) {
      const id = m.name.split('/').at(-1)!;
      const mine = (row: Record<string, unknown>): boolean => String(row.model).endsWith(`/${id}`);
      expect(Object.fromEntries(friRows.filter(mine).map((row) => [row.cell_type, row.fri]))).toEqual(m.fri);
      for (const x of m.motion) {
        const row = dsiRows.find((d) => mine(d) && d.cell_type === x.cell_type && d.intensity === x.intensity)!;
        expect([row.dsi, row.preferred_direction_deg]).toEqual([x.dsi, x.preferred_direction_deg]);
      }
    }
    // the summaries: the counts flyvis analyze --ensemble reports for the median FRI and the mean directions
    const friJson = JSON.parse(readFileSync(join(friDir, 'fri_summary.json'), 'utf8'));
    const dsiJson = JSON.parse(readFileSync(join(dsiDir, 'dsi.json'), 'utf8'));
    const kp = friJson.known_polarity;
    expect([r.ensemble.known_polarity.n_predicted, r.ensemble.known_polarity.n_known]).toEqual([kp.n_predicted, kp.n_known]);
    const kd = dsiJson.known_preferred_directions;
    expect(r.ensemble.known_directions.types.map((x) => [x.cell_type, x.predicted_deg])).toEqual(kd.types.map((x: { cell_type: string; predicted_deg: number | null }) => [x.cell_type, x.predicted_deg]));
    MOTION_TYPES.forEach((type, k) => {
      const v = dsiRows.filter((d) => d.cell_type === type && d.intensity === knownDirectionIntensity(type)).map((d) => d.dsi as number);
      expect(r.ensemble.motion[k]!.dsi.median).toBeCloseTo((v[0]! + v[1]!) / 2, 14); // the median of two
    });

    // the cache: the second pass analysed nothing; other stimuli are not taken from it
    expect(logs.filter((l) => /ensemble member .* analysed/.test(l))).toHaveLength(2);
    const other = await ensembleNumbers(ens, { ...SETTINGS, speeds: [9.7] }, cache, { extent: 4, members: 1, log: (m) => logs.push(m) });
    expect(logs.some((l) => /made for other stimuli/.test(l))).toBe(true);
    expect(other[0]!.motion.map((x) => x.dsi)).not.toEqual(members.find((m) => m.name === other[0]!.name)!.motion.map((x) => x.dsi));

    // figure and tables
    const svg = await renderSVG(reportFigure(r.curves, r.states, r.ensemble, 2));
    for (const text of ['Validation EPE', 'FRI (flash radius 6)', 'T4a', 'T5d', 'initialisation (chkpt 0, iteration 0)']) expect(svg).toContain(text);
    const md = reportMarkdown(r);
    expect(md).toContain(`Training took ${r.seconds_per_iteration!.toFixed(2)} s per iteration`);
    for (const s of r.states) expect(md).toContain(`| ${s.state} | ${s.checkpoint_index} | ${s.iteration} |`);
    expect(md).toContain(`${r.ensemble.known_polarity.n_predicted} of ${r.ensemble.known_polarity.n_known} (members: median`);
    expect(md.match(/^\| T[45][a-d] \| (ON|OFF) \|/gm)).toHaveLength(8 + 8); // the FRI table's and the DSI table's rows
  }, 900_000);
});
