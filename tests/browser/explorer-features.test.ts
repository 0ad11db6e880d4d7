// The explorer's backends, drawn and dot stimuli, analyses, SVG export, results directories and
// regularised optimal stimuli, in headless Chromium with WebGL2 and WebGPU on SwiftShader (one
// browser and one built page for the file; tests/browser/explorer-harness.ts). Every number the
// page shows is compared with the library computing the same thing in Node: the activity on each
// backend the page offers (to 1e-5), the movie a pointer drew and its activity, FRI and DSI, the
// network a zipped or dropped flyvis results directory loads, the regularised optimal stimulus.
// Screenshots go to test-artifacts/explorer/. Skipped, with the reason printed, where Chromium is
// absent; the results-directory parts also where flyvis's pretrained networks are (../shared/flyvis).
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Flashes, MovingEdge, ProceduralFlow, computeResponses, directionSelectivityIndex, flashResponseIndex, hexLattice, naturalOptimalStimulus, naturalisticMovies,
  regularizedOptimalStimulus, type Network,
} from '../../src/index.ts';
import { loadNetworkDir } from '../../src/results/network-dir.ts';
import { rasterize } from '../../web/src/hexmap.ts';
import { DEFAULT_DOTS, DEFAULT_DRAWN, DEFAULT_FLASH, decodeDrawing, type DsiResult, type FriResult } from '../../web/src/spec.ts';
import { defaultNetwork, drawnMovie, stimulusMovie } from '../../web/src/sim.ts';
import {
  ARTIFACTS, CHROMIUM, ROOT, api, dropFile, hasChromium, launchChromium, maxDiff, nodeActivity, pageActivity, pageStimulus, playToEnd, serveExplorer, status, waitStatus, watchErrors,
} from './explorer-harness.ts';
import { filesUnder, writeTestZip } from './zip-writer.ts';

if (!hasChromium) console.warn(`[flyvis-ts tests] skipping the explorer feature tests: no Chromium at ${CHROMIUM} (apt-get install chromium; .ci/run does)`);
const SHARED_NET = resolve(ROOT, '..', 'shared', 'flyvis', 'pretrained-v0.1.0', 'opticflow', '000', '0000');
const hasShared = existsSync(join(SHARED_NET, 'best_chkpt'));
if (!hasShared) console.warn(`[flyvis-ts tests] skipping the explorer's results-directory test: no ${SHARED_NET} (flyvis's pretrained networks, ../shared/flyvis)`);
const EYE_SIZE = 200; // web/src/main.ts

/**
 * Run in the page on the exported SVG's text: parses it, and for every hexagon of every map group
 * reads the map's canvas at the hexagon's centre; counts groups, cells, mismatched colours,
 * trace points and distinct fills.
 */
const SVG_CHECK = `(text) => {
  const doc = new DOMParser().parseFromString(text, 'image/svg+xml');
  if (doc.querySelector('parsererror')) return { error: doc.querySelector('parsererror').textContent };
  const groups = [...doc.querySelectorAll('g.map')];
  let cells = 0;
  const mismatches = [];
  for (const g of groups) {
    const type = g.getAttribute('data-type');
    const canvas = document.querySelector('canvas[data-type="' + type + '"]');
    const image = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    for (const p of g.querySelectorAll('polygon')) {
      const pts = p.getAttribute('points').split(' ').map((xy) => xy.split(',').map(Number));
      const x = Math.floor(pts.reduce((a, q) => a + q[0], 0) / pts.length);
      const y = Math.floor(pts.reduce((a, q) => a + q[1], 0) / pts.length);
      const k = (y * canvas.width + x) * 4;
      const rgb = '#' + [image[k], image[k + 1], image[k + 2]].map((c) => c.toString(16).padStart(2, '0')).join('');
      if (rgb !== p.getAttribute('fill') || image[k + 3] !== 255) mismatches.push(type + ' (' + p.getAttribute('data-u') + ', ' + p.getAttribute('data-v') + '): canvas ' + rgb + ', svg ' + p.getAttribute('fill'));
      cells++;
    }
  }
  const traces = [...doc.querySelectorAll('polyline.trace')].map((l) => l.getAttribute('points').split(' ').length);
  const fills = new Set([...doc.querySelectorAll('g.map polygon')].map((p) => p.getAttribute('fill'))).size;
  return { groups: groups.length, types: new Set(groups.map((g) => g.getAttribute('data-type'))).size, cells, mismatches: mismatches.slice(0, 5), traces, fills };
}`;

describe.skipIf(!hasChromium)('the explorer: backends, drawing, dots, analyses, SVG, results directories, regularised optimal stimuli', () => {
  let served: Awaited<ReturnType<typeof serveExplorer>> | null = null;
  let browser: Browser | null = null;

  beforeAll(async () => {
    served = await serveExplorer();
    browser = await launchChromium(true);
  });

  afterAll(async () => {
    await browser?.close();
    await served?.close();
  });

  async function open(query: string): Promise<{ page: Page; errors: string[] }> {
    const page = await browser!.newPage({ viewport: { width: 1280, height: 1000 } });
    const errors = watchErrors(page);
    await page.goto(`${served!.url}${query}`);
    await waitStatus(page, 's.backends.length > 0 && s.frames > 0');
    return { page, errors };
  }

  it("lists wasm, gpu.js (WebGL2) and WebGPU, runs the fastest that agrees with wasm, and each one's flash equals Node's to 1e-5", { timeout: 400_000 }, async () => {
    const { page, errors } = await open('?stim=flash&intensity=1&radius=-1&tstim=0.1&rate=max');
    try {
      let s = await status(page);
      expect(s.backends.map((b) => b.name)).toEqual(['wasm', 'gpujs', 'webgpu']);
      for (const b of s.backends) {
        expect(b.available, `${b.name}: ${b.detail}`).toBe(true);
        expect(b.maxDiff!, b.name).toBeLessThanOrEqual(1e-5);
        expect(b.correct).toBe(true);
      }
      expect(s.backends.find((b) => b.name === 'gpujs')!.detail).toBe('gpu.js WebGL2Kernel');
      expect(s.backends.find((b) => b.name === 'webgpu')!.detail).toMatch(/^WebGPU on /);
      const fastest = [...s.backends].sort((a, b) => a.msPerFrame! - b.msPerFrame!)[0]!.name;
      expect(s.backendChosenBy).toBe('probe');
      expect(s.backend).toBe(fastest);
      expect(await page.textContent('#status')).toContain(`Backend ${fastest}`);
      expect(await page.textContent('#backend-info')).toContain(`Running on ${fastest} (the fastest that agrees with wasm`);
      await page.locator('#controls').screenshot({ path: join(ARTIFACTS, 'backends.png') });

      const spec = { ...DEFAULT_FLASH, intensity: 1 as const, radius: -1, tStim: 0.1 };
      const node = nodeActivity(spec);
      let current = s.backend;
      for (const name of ['gpujs', 'webgpu', 'wasm']) {
        if (name !== current) {
          await page.selectOption('#backend', name);
          await waitStatus(page, `s.backend === '${name}' && s.backendChosenBy === 'user' && s.frames > 0 && s.recordedFrames === 0`);
        }
        current = name;
        const played = await playToEnd(page, 180_000);
        expect(played.backend).toBe(name);
        expect(new URLSearchParams(played.url).get('backend')).toBe(name);
        const got = await pageActivity(page);
        expect(got.length).toBe(node.length);
        const d = maxDiff(got, node);
        console.log(`[explorer] ${name}: flash of ${played.frames} frames, ${played.msPerFrame.toFixed(1)} ms/frame in the worker, largest difference from Node ${d.toExponential(2)}`);
        expect(d, name).toBeLessThanOrEqual(1e-5);
      }

      // the link keeps the choice: the page probes that one alone and runs it when it agrees with wasm;
      // another one is probed when it is chosen
      await page.goto(`${served!.url}?stim=flash&tstim=0.1&rate=max&backend=webgpu`);
      s = await waitStatus(page, 's.backends.length > 0 && s.frames > 0');
      expect([s.backend, s.backendChosenBy]).toEqual(['webgpu', 'url']);
      expect(s.backends.map((b) => [b.name, b.probed])).toEqual([['wasm', true], ['gpujs', false], ['webgpu', true]]);
      expect(await page.locator('#backend option[value="gpujs"]').textContent()).toBe('gpujs (not probed yet)');
      await page.selectOption('#backend', 'gpujs');
      s = await waitStatus(page, "s.backend === 'gpujs' && s.backendChosenBy === 'user' && s.frames > 0");
      expect(s.backends.find((b) => b.name === 'gpujs')).toMatchObject({ probed: true, available: true, correct: true });
      expect([...errors, ...s.errors]).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('draws a stimulus on the eye with pointer events: the painted hexals are the movie, simulated as in Node; dots as flyvis renders them', { timeout: 300_000 }, async () => {
    const { page, errors } = await open('?stim=drawn&tstim=0.1&rate=max&backend=wasm');
    try {
      const lattice = hexLattice(15);
      const pixels = rasterize(Int32Array.from(lattice.u, (_, i) => i), lattice.u, lattice.v, EYE_SIZE, 15);
      let box = (await page.locator('#eye-canvas').boundingBox())!;
      const at = (px: number, py: number): [number, number] => [box.x + ((px + 0.5) * box.width) / EYE_SIZE, box.y + ((py + 0.5) * box.height) / EYE_SIZE];
      /** The pixel nearest the middle of a hexal's pixels on the eye canvas. */
      const centre = (u: number, v: number): [number, number] => {
        const h = lattice.u.findIndex((x, i) => x === u && lattice.v[i] === v);
        let sx = 0;
        let sy = 0;
        let n = 0;
        pixels.forEach((p, i) => {
          if (p === h) [sx, sy, n] = [sx + (i % EYE_SIZE), sy + Math.floor(i / EYE_SIZE), n + 1];
        });
        return [Math.round(sx / n), Math.round(sy / n)];
      };
      const hexal = (u: number, v: number): number => lattice.u.findIndex((x, i) => x === u && lattice.v[i] === v);
      const click = async (u: number, v: number): Promise<void> => {
        await page.mouse.move(...at(...centre(u, v)));
        await page.mouse.down();
        await page.mouse.up();
      };
      // white single hexals, then a black brush of radius 1 (7 hexals)
      await click(0, 0);
      await click(2, -1);
      await page.selectOption('#brush', '0');
      await page.selectOption('#brush-size', '1');
      await click(-4, 5);
      // a stroke in light grey with a single-hexal brush, from (5, 0) to (5, 4)
      await page.selectOption('#brush', '0.75');
      await page.selectOption('#brush-size', '0');
      const [x0, y0] = centre(5, 0);
      const [x1, y1] = centre(5, 4);
      await page.mouse.move(...at(x0, y0));
      await page.mouse.down();
      for (let k = 1; k <= 8; k++) await page.mouse.move(...at(x0 + ((x1 - x0) * k) / 8, y0 + ((y1 - y0) * k) / 8));
      await page.mouse.up();
      // the keyboard: focus the eye, the cursor starts at (0, 0); up twice (u + 2) and Enter paints (2, 0)
      await page.focus('#eye-canvas');
      await page.keyboard.press('ArrowUp');
      await page.keyboard.press('ArrowUp');
      await page.keyboard.press('Enter');
      await page.waitForFunction(`globalThis.flyvisExplorer.drawing().some(([h]) => h === ${hexal(2, 0)})`);
      await waitStatus(page, 's.frames > 0 && s.recordedFrames === 0');

      const drawing = await api(page, 'drawing');
      const painted = new Map(drawing);
      expect(painted.get(hexal(0, 0))).toBe(1);
      expect(painted.get(hexal(2, -1))).toBe(1);
      for (const [du, dv] of [[0, 0], [1, 0], [-1, 0], [0, 1], [0, -1], [1, -1], [-1, 1]]) expect(painted.get(hexal(-4 + du!, 5 + dv!)), `(${-4 + du!}, ${5 + dv!})`).toBe(0);
      // the stroke: every hexal whose pixels the segment crosses, and only hexals within a pixel of it
      const near = new Set<number>();
      const crossed = new Set<number>();
      pixels.forEach((p, i) => {
        if (p < 0) return;
        const [px, py] = [(i % EYE_SIZE) + 0.5, Math.floor(i / EYE_SIZE) + 0.5];
        const t = Math.max(0, Math.min(1, ((px - x0 - 0.5) * (x1 - x0) + (py - y0 - 0.5) * (y1 - y0)) / ((x1 - x0) ** 2 + (y1 - y0) ** 2)));
        const d = Math.hypot(px - (x0 + 0.5 + t * (x1 - x0)), py - (y0 + 0.5 + t * (y1 - y0)));
        if (d <= 0.5) crossed.add(p);
        if (d <= 1.5) near.add(p);
      });
      const stroke = drawing.filter(([h, x]) => x === 0.75 && h !== hexal(2, 0)).map(([h]) => h);
      for (const h of crossed) expect(stroke, `hexal ${h} (u ${lattice.u[h]}, v ${lattice.v[h]}) on the stroke`).toContain(h);
      for (const h of stroke) expect(near.has(h), `hexal ${h} painted off the stroke`).toBe(true);
      for (const [u, v] of [[5, 0], [5, 1], [5, 2], [5, 3], [5, 4], [2, 0]]) expect(painted.get(hexal(u!, v!))).toBe(0.75);
      expect(drawing.length).toBe(2 + 7 + stroke.length + 1);

      // the movie: grey, the drawing for 0.1 s, grey; its activity as in Node
      const spec = { ...DEFAULT_DRAWN, paint: drawing, mode: 'flash' as const, tStim: 0.1 };
      const played = await playToEnd(page);
      const movie = drawnMovie(spec);
      expect(played.frames).toBe(movie.shape[0]);
      expect([...(await pageStimulus(page))]).toEqual([...movie.data]);
      expect(maxDiff(await pageActivity(page), nodeActivity(spec))).toBeLessThanOrEqual(1e-5);
      await page.locator('#eye').screenshot({ path: join(ARTIFACTS, 'drawn-stimulus.png') });
      // the drawing is in the link; a reload draws it again
      const url = played.url;
      expect(decodeDrawing(new URLSearchParams(url).get('draw')!, 721)!.sort((a, b) => a[0] - b[0])).toEqual([...painted].sort((a, b) => a[0] - b[0]));
      await page.goto(`${served!.url}${url}`);
      await waitStatus(page, 's.frames > 0');
      expect(new Map(await api(page, 'drawing'))).toEqual(painted);

      // a dot (flyvis's Dots): an OFF impulse of radius 1 at (3, -2), from the link; then moved by a click on the eye
      await page.goto(`${served!.url}?stim=dots&u=3&v=-2&dr=1&dmode=impulse&timp=0.05&intensity=0&tstim=0.3&rate=max&backend=wasm`);
      const dots = { ...DEFAULT_DOTS, u: 3, v: -2, radius: 1, mode: 'impulse' as const, tImpulse: 0.05, intensity: 0 as const, tStim: 0.3 };
      const dot = await playToEnd(page);
      expect(dot.frames).toBe(stimulusMovie(dots).shape[0]);
      expect([...(await pageStimulus(page))]).toEqual([...stimulusMovie(dots).data]);
      expect(maxDiff(await pageActivity(page), nodeActivity(dots))).toBeLessThanOrEqual(1e-5);
      box = (await page.locator('#eye-canvas').boundingBox())!; // the dot's controls moved it
      await click(-6, 2);
      const moved = await waitStatus(page, "new URLSearchParams(s.url).get('u') === '-6' && s.frames > 0");
      expect(new URLSearchParams(moved.url).get('v')).toBe('2');
      expect([...errors, ...moved.errors]).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it.skipIf(!hasShared)("loads a zipped flyvis results directory (its best checkpoint, as loadNetworkDir), runs FRI and DSI in the page as the library does in Node, exports the view as SVG; broken zips are refused", { timeout: 600_000 }, async () => {
    const { page, errors } = await open('?stim=flash&tstim=0.1&rate=max&backend=wasm');
    let node: Network | null = null;
    try {
      // malformed zips: a message naming the archive and the problem, the model unchanged
      const zip = writeTestZip(filesUnder(SHARED_NET, '0000'));
      await dropFile(page, 'cut.zip', zip.subarray(0, zip.length - 40));
      let s = await waitStatus(page, "s.message.startsWith('Could not load cut.zip')");
      expect(s.message).toBe('Could not load cut.zip: cut.zip: truncated zip archive (no end-of-central-directory record)');
      const bad = zip.slice();
      const at = Buffer.from(zip).indexOf('0000/best_chkpt') + '0000/best_chkpt'.length + 200;
      bad[at] = bad[at]! ^ 0x5a;
      await dropFile(page, 'bad.zip', bad);
      s = await waitStatus(page, "s.message.startsWith('Could not load bad.zip')");
      expect(s.message).toMatch(/^Could not load bad\.zip: bad\.zip: 0000\/best_chkpt: (fails its CRC-32 check|cannot be inflated|inflates to)/);
      await dropFile(page, 'nothing.zip', writeTestZip([{ path: 'notes.txt', bytes: new TextEncoder().encode('hello') }]));
      s = await waitStatus(page, "s.message.startsWith('Could not load nothing.zip')");
      expect(s.message).toContain('no _meta.yaml: not a flyvis results directory');
      expect(s.model).toBe('flyvis default (initial parameters)');

      // the zip dropped: its best checkpoint, the network of its _meta.yaml; a flash as in Node
      await dropFile(page, '0000.zip', zip);
      s = await waitStatus(page, "s.model === '0000'");
      expect(await page.locator('#model option').allTextContents()).toEqual(['flyvis default (initial parameters)', '0000']);
      const loaded = await loadNetworkDir(SHARED_NET, { networkOptions: { kernel: 'wasm' } });
      node = loaded.network;
      expect(await page.textContent('#model-detail')).toContain(`0000/best_chkpt (flyvis 0.1 layout; best_chkpt, validation_loss.h5 = ${loaded.validationLoss})`);
      await waitStatus(page, 's.frames > 0 && s.recordedFrames === 0');
      await playToEnd(page);
      const spec = { ...DEFAULT_FLASH, intensity: 1 as const, radius: -1, tStim: 0.1 };
      const trained = nodeActivity(spec, node);
      expect(maxDiff(await pageActivity(page), trained)).toBeLessThanOrEqual(1e-5);
      expect(maxDiff(trained, nodeActivity(spec))).toBeGreaterThan(1e-2); // a trained network responds differently

      // the same directory as a folder (webkitdirectory input): the same model again
      await page.setInputFiles('#results-folder', SHARED_NET);
      s = await waitStatus(page, "s.model === '0000' && s.frames > 0 && s.recordedFrames === 0");
      await playToEnd(page);
      expect(maxDiff(await pageActivity(page), trained)).toBeLessThanOrEqual(1e-5);

      // FRI (4 flashes) and DSI (24 moving edges), with the page's defaults, against the library in Node
      // (Node computes while the page does)
      await page.click('#fri-run');
      const nodeFri = flashResponseIndex(computeResponses(node, new Flashes({ extent: 15, dt: 1 / 50, radius: [-1, 6], tPre: 1, tStim: 1 }), { dt: 1 / 50 }));
      await waitStatus(page, 's.analysisRunning === null', 180_000);
      await page.waitForFunction('globalThis.flyvisExplorer.analyses().fri !== null');
      await page.click('#dsi-run');
      const edges = directionSelectivityIndex(computeResponses(node, new MovingEdge({ extent: 15, dt: 1 / 50, speeds: [19] }), { dt: 1 / 50 }));
      await page.waitForFunction('globalThis.flyvisExplorer.analyses().dsi !== null', undefined, { timeout: 300_000 });
      const got = await api(page, 'analyses');
      const fri = got.fri!.result as FriResult;
      const dsi = got.dsi!.result as DsiResult;
      expect(got.fri!.model).toBe('0000');
      expect(fri.rows.map((r) => [r.cell_type, r.radius])).toEqual(nodeFri.map((r) => [r.cell_type, r.radius]));
      expect(fri.rows).toHaveLength(130);
      expect(maxDiff(fri.rows.map((r) => r.fri), nodeFri.map((r) => r.fri))).toBeLessThanOrEqual(1e-5);
      expect(dsi.dsi.map((r) => [r.cell_type, r.intensity])).toEqual(edges.dsi.map((r) => [r.cell_type, r.intensity]));
      expect(maxDiff(dsi.dsi.map((r) => r.dsi), edges.dsi.map((r) => r.dsi))).toBeLessThanOrEqual(1e-5);
      dsi.dsi.forEach((r, i) => {
        const e = edges.dsi[i]!;
        if (e.preferred_direction_deg === null || r.preferred_direction_deg === null) expect(r.preferred_direction_deg, r.cell_type).toBe(e.preferred_direction_deg);
        else expect(Math.abs(((r.preferred_direction_deg - e.preferred_direction_deg + 540) % 360) - 180), r.cell_type).toBeLessThanOrEqual(1e-2);
      });
      expect(maxDiff(dsi.tuning.map((r) => r.peak_response), edges.tuning.map((r) => r.peak_response))).toBeLessThanOrEqual(1e-5);
      // a trained network: T4 and T5 are direction selective (flyvis's networks: DSI 0.08 to 0.8)
      expect(dsi.dsi.filter((r) => /^T[45]/.test(r.cell_type) && r.dsi > 0.05).length).toBeGreaterThan(0);
      // the tables show the numbers, and a row shows its tuning
      expect(await page.locator('#fri-table tbody tr').count()).toBe(65);
      const t4a = dsi.dsi.find((r) => r.cell_type === 'T4a' && r.intensity === 1)!;
      expect(await page.locator('#dsi-table tr[data-type="T4a"] td').first().textContent()).toBe(t4a.dsi.toFixed(3));
      await page.click('#dsi-table tr[data-type="T4a"]');
      expect(await page.textContent('#tuning-caption')).toContain('T4a: peak response');
      await page.locator('#analyses').screenshot({ path: join(ARTIFACTS, 'analyses.png') });

      // a cancelled analysis: every speed (144 edges), stopped after its first batch
      for (const box of await page.locator('#an-speeds input').all()) await box.check();
      await page.click('#dsi-run');
      await page.waitForFunction("globalThis.flyvisExplorer.status().analysisRunning === 'dsi' && document.getElementById('an-progress').value > 0", undefined, { timeout: 120_000 });
      await page.click('#an-cancel');
      await waitStatus(page, 's.analysisRunning === null', 120_000);
      expect(await page.textContent('#an-status')).toMatch(/^Cancelled \(interrupted after \d+ of 144 stimuli\)\.$/);
      expect(((await api(page, 'analyses')).dsi!.result as DsiResult).settings.speeds).toEqual([19]); // the earlier result stays

      // the view as SVG: 65 map groups whose hexagons have the canvas's colours, the traces as polylines
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-svg')]);
      expect(download.suggestedFilename()).toMatch(/^flyvis-view-frame-\d+\.svg$/);
      const svg = readFileSync((await download.path())!, 'utf8');
      const check = (await page.evaluate(`(${SVG_CHECK})(${JSON.stringify(svg)})`)) as { groups: number; types: number; cells: number; mismatches: string[]; traces: number[]; fills: number };
      s = await status(page);
      expect(check).toMatchObject({ groups: 65, types: 65, cells: s.nodes, mismatches: [] });
      expect(check.fills).toBeGreaterThan(10); // the trained network's flash leaves structure
      expect(check.traces).toEqual([s.recordedFrames, s.recordedFrames, s.recordedFrames, s.recordedFrames]); // the four default traces
      expect(await api(page, 'svg')).toBe(svg);
      await page.screenshot({ path: join(ARTIFACTS, 'results-directory.png'), fullPage: true });
      expect([...errors, ...s.errors]).toEqual([]);
    } finally {
      node?.dispose();
      await page.close();
    }
  });

  it('finds a regularised naturalistic optimal stimulus in the page as the library does in Node', { timeout: 400_000 }, async () => {
    const { page, errors } = await open('?stim=flash&rate=max&backend=wasm');
    try {
      await page.selectOption('#opt-type', 'T4c');
      await page.selectOption('#opt-mode', 'regularized');
      expect(await page.isVisible('#opt-mei')).toBe(false);
      await page.fill('#opt-scenes', '1');
      await page.fill('#opt-iters', '2');
      await page.fill('#opt-lr', '0.01');
      await page.click('#opt-run');
      // Node's, computed while the page computes its own
      const net = defaultNetwork('wasm');
      const movies = naturalisticMovies(new ProceduralFlow({ dt: 1 / 100, extent: 15, augment: false, split: 'validation', nSequences: 1, seed: 0 }));
      const nat = naturalOptimalStimulus(net, 'T4c', movies, { dt: 1 / 100 });
      const reg = regularizedOptimalStimulus(net, 'T4c', nat, { iterations: 2, lr: 0.01 });
      const s = await waitStatus(page, 's.optimal !== null', 300_000);
      const got = s.optimal as unknown as {
        mode: string; cellType: string; initialCentral: number; finalCentral: number; iterations: number;
        natural: { index: number; movies: number; peak: number; frame: number };
        firstLoss: { loss: number; act: number; stim: number }; finalLoss: { loss: number; act: number; stim: number };
      };
      expect([got.mode, got.cellType, got.iterations]).toEqual(['regularized', 'T4c', 2]);
      expect([got.natural.index, got.natural.movies, got.natural.frame]).toEqual([nat.index, 12, nat.frame]);
      expect(Math.abs(got.natural.peak - nat.peak)).toBeLessThanOrEqual(1e-5);
      const close = (a: number, b: number): boolean => Math.abs(a - b) <= 1e-5 * Math.max(1, Math.abs(b));
      expect(close(got.firstLoss.stim, reg.losses[0]!.stim), `${got.firstLoss.stim} vs ${reg.losses[0]!.stim}`).toBe(true);
      expect(close(got.finalLoss.stim, reg.finalLoss.stim), `${got.finalLoss.stim} vs ${reg.finalLoss.stim}`).toBe(true);
      expect(got.finalLoss.stim).toBeLessThan(got.firstLoss.stim); // pulled towards grey
      expect(Math.abs(got.finalCentral - Math.max(...reg.centralResponse))).toBeLessThanOrEqual(1e-5);
      expect(await page.textContent('#opt-status')).toContain(`T4c: the most exciting of 12 naturalistic movies is ${nat.index}`);
      await page.locator('#optimal').screenshot({ path: join(ARTIFACTS, 'optimal-regularized.png') });
      expect([...errors, ...(await status(page)).errors]).toEqual([]);
      net.dispose();
    } finally {
      await page.close();
    }
  });
});
