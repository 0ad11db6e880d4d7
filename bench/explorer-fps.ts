// Benchmark: frames simulated per second in the explorer's page (web/), on each backend the page
// offers, at extent 15 (flyvis's network, 45,669 neurons), in this machine's headless Chromium
// (WebGL2 and WebGPU through SwiftShader: their numbers say nothing about a real GPU). The page is
// built with Vite, served on 127.0.0.1 and driven by playwright-core; per backend it plays a
// moving edge (71 frames at dt 1/50) as fast as it can ('max': 10 frames per request) and at
// real time (1x: one frame per 20 ms), and reports the worker's milliseconds per frame, the frames
// per second playback reached, and the probe's numbers.
//   npx tsx bench/explorer-fps.ts [--runs N] [--json FILE]
import '../src/platform-node.ts';
import { writeFileSync } from 'node:fs';
import { launchChromium, serveExplorer, status, waitStatus } from '../tests/browser/explorer-harness.ts';
import type { Page } from 'playwright-core';

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : dflt;
};
const runs = Number(arg('runs', '1'));
const json = arg('json', '');
const log = (s: string): void => void process.stderr.write(s + '\n');

interface Row {
  backend: string;
  detail: string;
  rate: string;
  frames: number;
  worker_ms_per_frame: number;
  played_frames_per_s: number;
  probe_ms_per_frame: number;
}

async function play(page: Page, url: string, rate: string, backend: string): Promise<{ frames: number; ms: number; fps: number }> {
  await page.goto(`${url}?stim=edge&intensity=1&angle=0&speed=19&rate=${rate === '1x' ? '1' : 'max'}&backend=${backend}`);
  await waitStatus(page, `s.backends.length > 0 && s.frames > 0 && s.backend === '${backend}'`, 300_000);
  await page.evaluate('document.activeElement && document.activeElement.blur()');
  await page.keyboard.press('Space');
  const s = await waitStatus(page, 's.frames > 0 && s.recordedFrames === s.frames && !s.playing', 600_000);
  return { frames: s.frames, ms: s.msPerFrame, fps: s.playedFps };
}

const served = await serveExplorer();
const browser = await launchChromium(true);
const rows: Row[] = [];
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  await page.goto(`${served.url}?stim=edge&rate=max`);
  const probe = await waitStatus(page, 's.backends.length > 0', 300_000);
  log(`backends: ${probe.backends.map((b) => `${b.name} ${b.available ? `(${b.detail}, probe ${b.msPerFrame!.toFixed(2)} ms/frame, max |diff| ${b.maxDiff!.toExponential(1)})` : `not available: ${b.detail}`}`).join('; ')}; default ${probe.backend}`);
  for (const b of probe.backends.filter((x) => x.available && x.correct)) {
    for (const rate of ['max', '1x']) {
      for (let r = 0; r < runs; r++) {
        const p = await play(page, served.url, rate, b.name);
        rows.push({ backend: b.name, detail: b.detail, rate, frames: p.frames, worker_ms_per_frame: Math.round(p.ms * 100) / 100, played_frames_per_s: Math.round(p.fps * 10) / 10, probe_ms_per_frame: Math.round(b.msPerFrame! * 100) / 100 });
        log(`${b.name} ${rate}: ${p.frames} frames, ${p.ms.toFixed(2)} ms/frame in the worker, played at ${p.fps.toFixed(1)} frames/s`);
      }
    }
  }
  const errors = (await status(page)).errors;
  if (errors.length > 0) log(`page errors: ${errors.join('; ')}`);
} finally {
  await browser.close();
  await served.close();
}
const out = { bench: 'explorer-fps', extent: 15, nodes: 45669, dt: 1 / 50, stimulus: 'moving edge, ON, 0 deg, 19 columns/s', chromium: 'headless, SwiftShader WebGL2 and WebGPU', rows };
console.log(JSON.stringify(out, null, 2));
if (json) writeFileSync(json, JSON.stringify(out, null, 2) + '\n');
