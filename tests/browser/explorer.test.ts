// The explorer (web/) in a real browser: the page is built once with Vite (web/vite.config.ts,
// as npm run build:web builds it), served from a local static server on 127.0.0.1 and driven in
// Debian's headless Chromium by playwright-core, through its own controls (selects, keyboard).
// It runs a full-field flash and a moving edge; the activity the page's Web Worker computed for
// every frame must equal Node's Network.simulate for the same network and stimulus (to 1e-5),
// every one of the 65 cell-type maps must be drawn, the URL must hold the stimulus and view, and
// the console must stay free of errors. Screenshots of the main views are kept under
// test-artifacts/explorer/ (git-ignored; CI keeps them as artifacts). Skipped, with the reason
// printed, only where Chromium is absent (.ci/run installs it). The newer features (backends,
// drawn stimuli and dots, analyses, SVG, results directories) are tested in
// tests/browser/explorer-features.test.ts.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeNpy, npyToFloat32, parseNpy, readTorchFile, stateDictFromTorch, TorchTensor, writeTorchFile } from '../../src/core.ts';
import { DEFAULT_BAR, DEFAULT_EDGE, DEFAULT_FLASH, DEFAULT_GRATING } from '../../web/src/spec.ts';
import { connectivity, defaultNetwork } from '../../web/src/sim.ts';
import { optimalStimulus } from '../../src/analysis/optimal-stimulus.ts';
// the worker's module, type-checked with the library (it runs in the page, not here)
import type { WorkerModule } from '../../web/src/worker.ts';
import {
  ARTIFACTS, CHROMIUM, api, dropFile, hasChromium, launchChromium, maxDiff, nodeActivity, pageActivity, playToEnd, serveExplorer, status, waitStatus, watchErrors,
} from './explorer-harness.ts';

if (!hasChromium) console.warn(`[flyvis-ts tests] skipping the explorer test: no Chromium at ${CHROMIUM} (apt-get install chromium; .ci/run does)`);
const worker: WorkerModule = 'flyvis-explorer-worker';

/**
 * A flyvis-style torch checkpoint ({ network: state_dict }) for the default network with every
 * synapse 5x stronger and the biases shifted: responses visibly differ from the default's.
 */
function perturbedCheckpoint(): Uint8Array {
  const sd = defaultNetwork('js').stateDict();
  const tensor = (x: number[]): TorchTensor => new TorchTensor('float32', [x.length], Float32Array.from(x));
  const network: Record<string, TorchTensor> = {};
  for (const [k, v] of Object.entries(sd)) {
    network[k] = tensor(k === 'edges_syn_strength' ? v.map((x) => 5 * x) : k === 'nodes_bias' ? v.map((x, i) => x + 0.05 * Math.sin(i)) : v);
  }
  return writeTorchFile({ network, time: 1 }, { archiveName: 'best_chkpt' });
}

describe.skipIf(!hasChromium)('the explorer (web/), built with Vite, in headless Chromium', () => {
  let served: Awaited<ReturnType<typeof serveExplorer>> | null = null;
  let browser: Browser | null = null;
  let url = '';

  beforeAll(async () => {
    expect(worker).toBe('flyvis-explorer-worker');
    served = await serveExplorer();
    url = served.url;
    browser = await launchChromium(false);
  });

  afterAll(async () => {
    await browser?.close();
    await served?.close();
  });

  /** A new page (1280 x 1000) and its console errors. */
  async function open(): Promise<{ page: Page; errors: string[] }> {
    const page = await browser!.newPage({ viewport: { width: 1280, height: 1000 } });
    return { page, errors: watchErrors(page) };
  }

  it('runs a flash, a moving edge, a bar and a grating in a Web Worker on wasm, equal to Node, draws all 65 maps, keeps the state in the URL, without console errors', async () => {
    const { page, errors } = await open();
    try {

      // 1. A full-field ON flash, set by the URL, played as fast as the worker computes.
      await page.goto(`${url}?stim=flash&intensity=1&radius=-1&tstim=0.5&rate=max`);
      const flash = await playToEnd(page);
      expect(flash.ready).toBe(true);
      expect(flash.backend).toBe('wasm');
      expect(flash.nodes).toBe(45669);
      expect(await page.textContent('#status')).toContain('Backend wasm');
      const flashNode = nodeActivity({ ...DEFAULT_FLASH, intensity: 1, radius: -1, tStim: 0.5 });
      const flashPage = await pageActivity(page);
      expect(flash.recordedFrames * flash.nodes).toBe(flashNode.length);
      expect(flashPage.length).toBe(flashNode.length);
      expect(maxDiff(flashPage, flashNode)).toBeLessThanOrEqual(1e-5);
      console.log(`[explorer] flash: ${flash.frames} frames, ${flash.msPerFrame.toFixed(2)} ms/frame in the worker, played at ${flash.playedFps.toFixed(0)} frames/s`);

      const maps = await api(page, 'maps');
      expect(maps).toHaveLength(65);
      expect(new Set(maps.map((m) => m.type)).size).toBe(65);
      const drawn = (list: typeof maps): void => {
        for (const m of list) {
          // every cell covers pixels (>= 3 each, on 68 px maps) and every one of them is painted
          expect(m.cellPixels, `${m.type}: ${m.cells} cells`).toBeGreaterThanOrEqual(3 * m.cells);
          expect(m.drawn, `${m.type} map drawn`).toBe(m.cellPixels);
        }
      };
      drawn(maps);
      await page.screenshot({ path: join(ARTIFACTS, 'flash.png'), fullPage: true });

      // clicking a map: the cell under the pointer is traced, the type's connectivity shown
      await page.click('canvas[data-type="T5c"]'); // the centre: the central cell
      const clicked = await status(page);
      expect(clicked.selectedType).toBe('T5c');
      expect(new URLSearchParams(clicked.url).get('cells')).toContain('T5c@0,0');
      const c = defaultNetwork('js').connectome;
      const links = connectivity(c);
      const fmt = (l: { type: string; sign: number; synapses: number }): string => `${l.type} ${l.sign > 0 ? '+' : '−'} ${l.synapses.toFixed(1)}`;
      expect(await page.locator('#conn-in li').allTextContents()).toEqual(links.inputs.T5c!.map(fmt));
      expect(await page.locator('#conn-out li').allTextContents()).toEqual(links.outputs.T5c!.map(fmt));
      // T5 cells get their inputs from Tm1, Tm2, Tm4 and Tm9 (flyvis's connectome); one count summed here directly
      expect(links.inputs.T5c!.map((l) => l.type)).toEqual(expect.arrayContaining(['Tm1', 'Tm2', 'Tm4', 'Tm9']));
      const central = c.centralCellsIndex[c.uniqueCellTypes.indexOf('T5c')]!;
      const tm9 = c.uniqueCellTypes.indexOf('Tm9');
      const e = c.edges.columns;
      let direct = 0;
      for (let k = 0; k < c.edges.length; k++) {
        if ((e.target_index as Int32Array)[k] === central && (e.source_type as { codes: Int32Array }).codes[k] === tm9) direct += (e.n_syn as Float32Array)[k]!;
      }
      expect(links.inputs.T5c!.find((l) => l.type === 'Tm9')!.synapses).toBeCloseTo(direct, 3);
      // the keyboard: a focused map and Enter
      await page.focus('canvas[data-type="Tm3"]');
      await page.keyboard.press('Enter');
      expect((await status(page)).selectedType).toBe('Tm3');

      // exports: the activity as .npy (frames, nodes), the maps as PNG
      const [npy] = await Promise.all([page.waitForEvent('download'), page.click('#export-npy')]);
      const exported = parseNpy(new Uint8Array(readFileSync((await npy.path())!)));
      expect(exported.shape).toEqual([flash.frames, flash.nodes]);
      expect(maxDiff(npyToFloat32(exported, 'export'), flashNode)).toBeLessThanOrEqual(1e-5);
      const [png] = await Promise.all([page.waitForEvent('download'), page.click('#export-png')]);
      expect(png.suggestedFilename()).toMatch(/\.png$/);
      expect([...readFileSync((await png.path())!).subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

      // 2. An OFF edge moving at 90° and 19 columns/s, chosen with the page's controls.
      await page.selectOption('#stim', 'edge');
      await page.selectOption('#intensity', '0');
      await page.selectOption('#angle', '90');
      await page.selectOption('#speed', '19');
      await page.selectOption('#scale', 'shared');
      const q = new URLSearchParams((await status(page)).url);
      expect(Object.fromEntries(['stim', 'intensity', 'angle', 'speed', 'scale', 'rate'].map((k) => [k, q.get(k)]))).toEqual({
        stim: 'edge', intensity: '0', angle: '90', speed: '19', scale: 'shared', rate: 'max',
      });
      const edge = await playToEnd(page);
      const edgeNode = nodeActivity({ ...DEFAULT_EDGE, intensity: 0, angle: 90, speed: 19 });
      const edgePage = await pageActivity(page);
      expect(edge.recordedFrames * edge.nodes).toBe(edgeNode.length);
      expect(maxDiff(edgePage, edgeNode)).toBeLessThanOrEqual(1e-5);
      const edgeMaps = await api(page, 'maps');
      drawn(edgeMaps);
      expect(edgeMaps.filter((m) => m.colours > 1).length).toBeGreaterThan(0); // the edge leaves structure on the maps
      await page.screenshot({ path: join(ARTIFACTS, 'moving-edge.png'), fullPage: true });
      console.log(`[explorer] moving edge: ${edge.frames} frames, ${edge.msPerFrame.toFixed(2)} ms/frame in the worker, played at ${edge.playedFps.toFixed(0)} frames/s`);

      // 3. The URL restores the stimulus and view; the keyboard steps one frame (→) when paused.
      await page.goto(`${url}${edge.url}`);
      await waitStatus(page, 's.frames > 0');
      expect([await page.inputValue('#stim'), await page.inputValue('#intensity'), await page.inputValue('#angle'), await page.inputValue('#scale')]).toEqual(['edge', '0', '90', 'shared']);
      await page.evaluate('document.activeElement && document.activeElement.blur()');
      await page.keyboard.press('ArrowRight');
      await waitStatus(page, 's.recordedFrames === 1');
      expect((await status(page)).playing).toBe(false);

      // 4. A moving bar and a drifting grating, from the same controls.
      await page.selectOption('#rate', 'max');
      await page.selectOption('#stim', 'bar');
      await page.selectOption('#intensity', '1');
      await page.selectOption('#width', '2');
      await page.selectOption('#angle', '60');
      const bar = await playToEnd(page);
      expect(new URLSearchParams(bar.url).get('width')).toBe('2');
      expect(maxDiff(await pageActivity(page), nodeActivity({ ...DEFAULT_BAR, intensity: 1, width: 2, angle: 60, speed: 19 }))).toBeLessThanOrEqual(1e-5);
      await page.selectOption('#stim', 'grating');
      expect(await page.isVisible('#intensity')).toBe(false); // gratings have no polarity
      await page.fill('#period', '30');
      await page.selectOption('#tf', '4');
      const grating = await playToEnd(page);
      expect(Object.fromEntries(['stim', 'angle', 'period', 'tf'].map((k) => [k, new URLSearchParams(grating.url).get(k)]))).toEqual({ stim: 'grating', angle: '60', period: '30', tf: '4' });
      const gratingNode = nodeActivity({ ...DEFAULT_GRATING, angle: 60, period: 30, temporalFrequency: 4 });
      expect(grating.recordedFrames * grating.nodes).toBe(gratingNode.length);
      expect(maxDiff(await pageActivity(page), gratingNode)).toBeLessThanOrEqual(1e-5);
      await page.screenshot({ path: join(ARTIFACTS, 'grating.png'), fullPage: true });

      // 5. A tablet width: the maps wrap, nothing is cut off.
      await page.setViewportSize({ width: 820, height: 1180 });
      await page.screenshot({ path: join(ARTIFACTS, 'tablet.png'), fullPage: true });
      expect(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);

      expect([...errors, ...(await status(page)).errors]).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('a dropped flyvis torch checkpoint changes the responses as in Node, a dropped .npy movie is simulated as in Node; bad files are refused with a message', async () => {
    const { page, errors } = await open();
    try {
      await page.goto(`${url}?stim=flash&intensity=0&radius=-1&tstim=0.5&rate=max&backend=wasm`);
      await waitStatus(page, 's.frames > 0');

      // a state_dict that does not fit: refused, the model in use stays
      await dropFile(page, 'bad.json', new TextEncoder().encode(JSON.stringify({ nodes_bias: [1, 2] })));
      await waitStatus(page, "s.message.startsWith('Could not load bad.json')");
      expect((await status(page)).message).toContain('nodes_bias: expected 65 values');
      expect((await status(page)).model).toBe('flyvis default (initial parameters)');

      const bytes = perturbedCheckpoint();
      await dropFile(page, 'best_chkpt', bytes);
      await waitStatus(page, "s.model === 'best_chkpt' && s.frames > 0");
      expect(await page.locator('#model option').allTextContents()).toEqual(['flyvis default (initial parameters)', 'best_chkpt']);
      const played = await playToEnd(page);
      const spec = { ...DEFAULT_FLASH, intensity: 0 as const, radius: -1, tStim: 0.5 };
      const expected = nodeActivity(spec, stateDictFromTorch(readTorchFile(bytes, 'best_chkpt')));
      const got = await pageActivity(page);
      expect(played.recordedFrames * played.nodes).toBe(expected.length);
      expect(maxDiff(got, expected)).toBeLessThanOrEqual(1e-5);
      const before = nodeActivity(spec);
      expect(maxDiff(got, before)).toBeGreaterThan(1e-2); // the checkpoint did change the responses

      // switching back to the default model gives the default responses again
      await page.selectOption('#model', 'flyvis default (initial parameters)');
      await waitStatus(page, "s.model.startsWith('flyvis default') && s.frames > 0 && s.recordedFrames === 0");
      await playToEnd(page);
      expect(maxDiff(await pageActivity(page), before)).toBeLessThanOrEqual(1e-5);

      // an uploaded .npy movie: a bright spot drifting right, 30 frames; one of the wrong size is refused
      await dropFile(page, 'small.npy', encodeNpy(new Float32Array(2 * 61).fill(0.5), [2, 61]));
      await waitStatus(page, "s.message.startsWith('Could not load small.npy')");
      const H = 721;
      const spot = new Float32Array(30 * H).fill(0.5);
      for (let t = 0; t < 30; t++) for (let h = 0; h < H; h++) if ((h + 7 * t) % 97 < 5) spot[t * H + h] = 1;
      await dropFile(page, 'spot.npy', encodeNpy(spot, [30, H]));
      await waitStatus(page, "new URLSearchParams(s.url).get('stim') === 'movie' && s.frames === 30");
      expect(await page.inputValue('#stim')).toBe('movie');
      await playToEnd(page);
      expect(maxDiff(await pageActivity(page), nodeActivity({ data: spot, shape: [30, H] }))).toBeLessThanOrEqual(1e-5);
      expect([...errors, ...(await status(page)).errors]).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it("finds a cell type's optimal stimulus in the page by gradient ascent: its response rises, as in Node", async () => {
    const { page, errors } = await open();
    try {
      await page.goto(`${url}?stim=flash&backend=wasm`);
      await waitStatus(page, 's.ready');
      await page.selectOption('#opt-type', 'T4c');
      await page.fill('#opt-iters', '5');
      await page.fill('#opt-lr', '0.05');
      await page.fill('#opt-mei', '0');
      await page.click('#opt-run');
      await waitStatus(page, 's.optimal !== null');
      const got = (await status(page)).optimal!;
      const node = optimalStimulus(defaultNetwork('wasm'), 'T4c', { iterations: 5, lr: 0.05, weightMei: 0 });
      expect(got.cellType).toBe('T4c');
      expect(got.iterations).toBe(5);
      expect(got.finalCentral).toBeGreaterThan(got.initialCentral + 1e-4);
      expect(Math.abs(got.initialCentral - node.initialCentral)).toBeLessThanOrEqual(1e-5);
      expect(Math.abs(got.finalCentral - node.finalCentral)).toBeLessThanOrEqual(1e-5);
      expect(await page.textContent('#opt-status')).toContain('T4c: central cell response');
      await page.locator('#optimal').screenshot({ path: join(ARTIFACTS, 'optimal-stimulus.png') });
      expect([...errors, ...(await status(page)).errors]).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
