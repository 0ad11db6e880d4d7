// What the explorer's browser tests share (tests/browser/explorer*.test.ts): the page built once
// per test file with Vite (web/vite.config.ts, as npm run build:web builds it) and served from a
// local static server on 127.0.0.1, Debian's headless Chromium driven by playwright-core (no
// browser download), the page's test API (window.flyvisExplorer), and Node's side of every
// comparison (the library's Network.simulate from the grey steady state).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import type { Network, Tensor } from '../../src/core.ts';
import viteConfig from '../../web/vite.config.ts';
import type { AnalysisResult, DatasetSpec, EngineReport } from '../../web/src/spec.ts';
import { DT, defaultNetwork, stimulusMovie } from '../../web/src/sim.ts';

export const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
/** Where the screenshots go (CI keeps this folder as an artifact). */
export const ARTIFACTS = join(ROOT, 'test-artifacts', 'explorer');
export const CHROMIUM = process.env.FLYVIS_CHROMIUM ?? '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM);
/** Chromium's flags for WebGL2 (gpu.js) and WebGPU through SwiftShader, as tests/browser/gpu-in-chromium.test.ts uses them. */
export const GPU_FLAGS = ['--enable-unsafe-swiftshader', '--use-angle=swiftshader', '--enable-unsafe-webgpu'];

export interface Status {
  ready: boolean;
  backend: string | null;
  backends: EngineReport[];
  backendChosenBy: 'probe' | 'url' | 'user';
  analysisRunning: 'fri' | 'dsi' | null;
  nodes: number;
  frames: number;
  recordedFrames: number;
  playing: boolean;
  errors: string[];
  frameRate: number;
  playedFps: number;
  model: string;
  selectedType: string | null;
  message: string;
  optimal: { cellType: string; initialCentral: number; finalCentral: number; iterations: number } | null;
  msPerFrame: number;
  url: string;
}

export interface ExplorerApi {
  status(): Status;
  activityBase64(): string;
  stimulusBase64(): string;
  drawing(): [number, number][];
  analyses(): { fri: { result: AnalysisResult; model: string; ms: number } | null; dsi: { result: AnalysisResult; model: string; ms: number } | null };
  svg(): string;
  maps(): { type: string; cells: number; cellPixels: number; drawn: number; colours: number }[];
}

/** Calls the page's test API. */
export const api = <K extends keyof ExplorerApi>(page: Page, name: K): Promise<ReturnType<ExplorerApi[K]>> =>
  page.evaluate((n) => (globalThis as unknown as { flyvisExplorer: Record<string, () => unknown> }).flyvisExplorer[n]!(), name) as Promise<ReturnType<ExplorerApi[K]>>;

export const status = (page: Page): Promise<Status> => api(page, 'status');

/** Waits until the page's status satisfies `test` (a function of the status, as source text). */
export async function waitStatus(page: Page, test: string, timeout = 120_000): Promise<Status> {
  await page.waitForFunction(`(s => !!s && (${test}))(globalThis.flyvisExplorer && globalThis.flyvisExplorer.status())`, undefined, { timeout });
  return status(page);
}

const decode = (b64: string): Float32Array => {
  const bytes = Buffer.from(b64, 'base64');
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
};
export const pageActivity = async (page: Page): Promise<Float32Array> => decode(await api(page, 'activityBase64'));
export const pageStimulus = async (page: Page): Promise<Float32Array> => decode(await api(page, 'stimulusBase64'));

export function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

/** Node's activity for the page's stimulus: the library's Network.simulate from the grey steady state. */
export function nodeActivity(spec: DatasetSpec | { data: Float32Array; shape: [number, number] }, setup?: Readonly<Record<string, unknown>> | Network): Float32Array {
  const movie = 'kind' in spec ? stimulusMovie(spec) : spec;
  const net = setup !== undefined && 'simulate' in setup ? (setup as Network) : defaultNetwork('wasm');
  if (setup !== undefined && net !== setup) net.loadCheckpoint(setup as Readonly<Record<string, unknown>>);
  const a = net.simulate({ data: movie.data, shape: [1, movie.shape[0], 1, movie.shape[1]] }, DT) as Tensor;
  return Float32Array.from(a.data);
}

/** Plays the current stimulus to its end with the keyboard (Space) and waits for it. */
export async function playToEnd(page: Page, timeout = 120_000): Promise<Status> {
  await waitStatus(page, 's.frames > 0');
  await page.evaluate('document.activeElement && document.activeElement.blur()'); // keys go to the page, not a control
  await page.keyboard.press('Space');
  return waitStatus(page, 's.frames > 0 && s.recordedFrames === s.frames && !s.playing', timeout);
}

/** Collects console errors and uncaught exceptions of a page. */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  return errors;
}

/** Drops a file on the page, as a user dragging it from the desktop would. */
export async function dropFile(page: Page, name: string, bytes: Uint8Array): Promise<void> {
  const transfer = await page.evaluateHandle(
    ([n, b64]) => {
      const data = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      // (DataTransfer is the page's; this file is type-checked without the DOM library)
      const Transfer = (globalThis as unknown as { DataTransfer: new () => { items: { add(f: File): void } } }).DataTransfer;
      const t = new Transfer();
      t.items.add(new File([data], n));
      return t;
    },
    [name, Buffer.from(bytes).toString('base64')] as const,
  );
  await page.dispatchEvent('#maps', 'drop', { dataTransfer: transfer });
}

/** The explorer built into a temporary folder and served on 127.0.0.1; `close` removes both. */
export async function serveExplorer(): Promise<{ url: string; close(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'flyvis-explorer-'));
  const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm', '.json': 'application/json' };
  const { build } = await import('vite');
  await build({ ...viteConfig, configFile: false, logLevel: 'warn', build: { ...viteConfig.build, outDir: dir, emptyOutDir: true } });
  const server: Server = createServer((req, res) => {
    const name = normalize(decodeURIComponent((req.url ?? '/').split('?')[0]!)).replace(/^\/+/, '') || 'index.html';
    const file = join(dir, name);
    if (name.includes('..') || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const address = server.address();
  mkdirSync(ARTIFACTS, { recursive: true });
  return {
    url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/`,
    async close() {
      await new Promise<void>((ok) => server.close(() => ok()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Headless Chromium, with WebGL2 and WebGPU on SwiftShader when `gpu`. */
export async function launchChromium(gpu: boolean): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', ...(gpu ? GPU_FLAGS : [])] });
}
