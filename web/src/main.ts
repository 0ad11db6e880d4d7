// The explorer page: controls, playback and views. The network runs in a Web Worker
// (web/src/worker.ts); this thread only draws. The state of the stimulus and the view is kept in
// the URL's query string (shareable, reloadable). `window.flyvisExplorer` lets the browser test
// read what the page computed and drew.
import { DEFAULT_MODEL, type FromWorker, type NetworkInfo, type ToWorker } from './protocol.ts';
import { DEFAULT_BAR, DEFAULT_EDGE, DEFAULT_FLASH, DEFAULT_GRATING, EXTENT, type StimulusSpec } from './spec.ts';
import { DIVERGING, GREYS, paint, rasterize } from './hexmap.ts';
import { encodeNpy } from '../../src/io/npy.ts';

const ANGLES = [0, 30, 60, 90, 120, 150, 180, 210, 240, 270, 300, 330];
const SPEEDS = [2.4, 4.8, 9.7, 13, 19, 25];
const RATES = ['0.1', '0.25', '0.5', '1', '2', 'max'];
const MAP_SIZE = 68;
const EYE_SIZE = 160;
/** Okabe-Ito: colour-blind-safe line colours for traces. */
const LINE_COLOURS = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#F0E442'];

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const el = {
  status: $('status'),
  stim: $<HTMLSelectElement>('stim'),
  intensity: $<HTMLSelectElement>('intensity'),
  radius: $<HTMLInputElement>('radius'),
  tstim: $<HTMLInputElement>('tstim'),
  angle: $<HTMLSelectElement>('angle'),
  speed: $<HTMLSelectElement>('speed'),
  width: $<HTMLSelectElement>('width'),
  period: $<HTMLInputElement>('period'),
  tf: $<HTMLSelectElement>('tf'),
  play: $<HTMLButtonElement>('play'),
  step: $<HTMLButtonElement>('step'),
  restart: $<HTMLButtonElement>('restart'),
  rate: $<HTMLSelectElement>('rate'),
  scale: $<HTMLSelectElement>('scale'),
  model: $<HTMLSelectElement>('model'),
  checkpointFile: $<HTMLInputElement>('checkpoint-file'),
  movieFile: $<HTMLInputElement>('movie-file'),
  message: $('message'),
  optType: $<HTMLSelectElement>('opt-type'),
  optIters: $<HTMLInputElement>('opt-iters'),
  optLr: $<HTMLInputElement>('opt-lr'),
  optMei: $<HTMLInputElement>('opt-mei'),
  optRun: $<HTMLButtonElement>('opt-run'),
  optCanvas: $<HTMLCanvasElement>('opt-canvas'),
  optStatus: $('opt-status'),
  exportNpy: $<HTMLButtonElement>('export-npy'),
  connTitle: $('conn-title'),
  connIn: $('conn-in'),
  connOut: $('conn-out'),
  exportPng: $<HTMLButtonElement>('export-png'),
  maps: $('maps'),
  eye: $<HTMLCanvasElement>('eye-canvas'),
  trace: $<HTMLCanvasElement>('trace-canvas'),
  traceLegend: $('trace-legend'),
  legendBar: $<HTMLCanvasElement>('legend-bar'),
  legendLo: $('legend-lo'),
  legendHi: $('legend-hi'),
  legendText: $('legend-text'),
};
for (const a of ANGLES) el.angle.add(new Option(String(a), String(a)));
for (const s of SPEEDS) el.speed.add(new Option(String(s), String(s)));

// -- URL state ---------------------------------------------------------------------------------

interface Chosen {
  readonly type: string;
  readonly u: number;
  readonly v: number;
}

function readUrl(): void {
  const q = new URLSearchParams(location.search);
  const set = (s: HTMLSelectElement | HTMLInputElement, key: string): void => {
    const x = q.get(key);
    if (x === null) return;
    if (s instanceof HTMLSelectElement && ![...s.options].some((o) => o.value === x)) return;
    s.value = x;
  };
  set(el.stim, 'stim');
  set(el.intensity, 'intensity');
  set(el.radius, 'radius');
  set(el.tstim, 'tstim');
  set(el.angle, 'angle');
  set(el.speed, 'speed');
  set(el.width, 'width');
  set(el.period, 'period');
  set(el.tf, 'tf');
  set(el.rate, 'rate');
  set(el.scale, 'scale');
  if (el.stim.value === 'edge' && q.get('intensity') === null) el.intensity.value = String(DEFAULT_EDGE.intensity);
  if (q.get('angle') === null) el.angle.value = String(DEFAULT_EDGE.angle);
  if (q.get('speed') === null) el.speed.value = String(DEFAULT_EDGE.speed);
  if (q.get('rate') === null) el.rate.value = '1';
  const cells = q.get('cells');
  chosen = cells === null
    ? [{ type: 'T4a', u: 0, v: 0 }, { type: 'T5a', u: 0, v: 0 }, { type: 'Mi1', u: 0, v: 0 }, { type: 'Tm3', u: 0, v: 0 }]
    : cells.split(';').flatMap((c) => {
        const m = /^([^@]+)@(-?\d+),(-?\d+)$/.exec(c);
        return m ? [{ type: m[1]!, u: Number(m[2]), v: Number(m[3]) }] : [];
      });
}

function writeUrl(): void {
  const q = new URLSearchParams();
  q.set('stim', el.stim.value);
  q.set('intensity', el.intensity.value);
  const kind = el.stim.value;
  if (kind === 'flash') {
    q.set('radius', el.radius.value);
    q.set('tstim', el.tstim.value);
  } else {
    q.set('angle', el.angle.value);
    if (kind !== 'grating') q.set('speed', el.speed.value);
    if (kind === 'bar') q.set('width', el.width.value);
    if (kind === 'grating') {
      q.set('period', el.period.value);
      q.set('tf', el.tf.value);
    }
  }
  q.set('rate', el.rate.value);
  q.set('scale', el.scale.value);
  q.set('cells', chosen.map((c) => `${c.type}@${c.u},${c.v}`).join(';'));
  history.replaceState(null, '', `${location.pathname}?${q.toString()}`);
}

function clampNumber(input: HTMLInputElement, lo: number, hi: number, fallback: number, integer: boolean): number {
  let x = Number(input.value);
  if (!Number.isFinite(x)) x = fallback;
  x = Math.max(lo, Math.min(hi, integer ? Math.round(x) : x));
  input.value = String(x);
  return x;
}

function currentSpec(): StimulusSpec {
  const intensity = el.intensity.value === '0' ? 0 : 1;
  if (el.stim.value === 'movie') return { kind: 'movie', name: el.stim.selectedOptions[0]?.dataset.movie ?? '' };
  const angle = Number(el.angle.value);
  if (el.stim.value === 'edge') return { ...DEFAULT_EDGE, intensity, angle, speed: Number(el.speed.value) };
  if (el.stim.value === 'bar') return { ...DEFAULT_BAR, intensity, angle, speed: Number(el.speed.value), width: Number(el.width.value) };
  if (el.stim.value === 'grating') return { ...DEFAULT_GRATING, angle, period: clampNumber(el.period, 5, 90, DEFAULT_GRATING.period, false), temporalFrequency: Number(el.tf.value) };
  return { ...DEFAULT_FLASH, intensity, radius: clampNumber(el.radius, -1, EXTENT, -1, true), tStim: clampNumber(el.tstim, 0.02, 5, DEFAULT_FLASH.tStim, false) };
}

// -- state -------------------------------------------------------------------------------------

let info: NetworkInfo | null = null;
let chosen: Chosen[] = [];
let frames = 0; // frames of the current stimulus
let hexals = 0;
let baseline: Float32Array = new Float32Array(0);
let recorded: Float32Array[] = []; // batches of (count, nodes) activity, in order
let recordedFrames = 0;
let lastActivity: Float32Array = new Float32Array(0);
let lastStimulus: Float32Array = new Float32Array(0);
let playing = false;
let pending = false; // a step request is out
let stimuliInFlight = 0; // stimulus messages not yet answered: until then, frame replies are an old stimulus's
let stepTimer: ReturnType<typeof setTimeout> | null = null;
let dirty = false;
let simMs = 0; // worker time for the frames so far
const computedAt: number[] = []; // wall-clock times of computed frames, for the frame rate
let errors: string[] = [];
let model = DEFAULT_MODEL;
let optimal: { cellType: string; initialCentral: number; finalCentral: number; frames: number; iterations: number; stimulus: Float32Array } | null = null;
let optimising = false;
let playStart = { at: 0, frame: 0 }; // when playback last started, for the frame rate it reached
let playedFps = NaN; // frames per second of the last playback that reached the end

const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
const send = (m: ToWorker): void => worker.postMessage(m);

interface MapView {
  readonly type: string;
  readonly canvas: HTMLCanvasElement;
  readonly ctx: CanvasRenderingContext2D;
  readonly image: ImageData;
  readonly pixels: Int32Array;
  readonly nodes: Int32Array;
  readonly range: HTMLElement;
  maxAbs: number;
}
let mapViews: MapView[] = [];
let eyeView: { ctx: CanvasRenderingContext2D; image: ImageData; pixels: Int32Array } | null = null;

// -- building the views ------------------------------------------------------------------------

function buildMaps(n: NetworkInfo): void {
  const inputs = new Set(n.inputTypes);
  const outputs = new Set(n.outputTypes);
  const groups: [string, string[]][] = [
    ['Retina (photoreceptors, inputs)', n.cellTypes.filter((t) => inputs.has(t))],
    ['Intermediate cell types', n.cellTypes.filter((t) => !inputs.has(t) && !outputs.has(t))],
    ['Output cell types', n.cellTypes.filter((t) => outputs.has(t))],
  ];
  el.maps.replaceChildren();
  mapViews = [];
  for (const [title, types] of groups) {
    const section = document.createElement('div');
    section.className = 'layer';
    const h = document.createElement('h2');
    h.textContent = `${title} (${types.length})`;
    const row = document.createElement('div');
    row.className = 'layer-maps';
    section.append(h, row);
    for (const type of types) {
      const layer = n.layers[n.cellTypes.indexOf(type)]!;
      const fig = document.createElement('div');
      fig.className = 'map';
      const canvas = document.createElement('canvas');
      canvas.width = MAP_SIZE;
      canvas.height = MAP_SIZE;
      canvas.dataset.type = type;
      canvas.setAttribute('role', 'img');
      canvas.setAttribute('aria-label', `${type} activity on its hexagonal lattice`);
      const name = document.createElement('span');
      name.textContent = type;
      const range = document.createElement('span');
      range.className = 'range';
      fig.append(canvas, name, range);
      row.append(fig);
      const ctx = canvas.getContext('2d')!;
      const view: MapView = { type, canvas, ctx, image: ctx.createImageData(MAP_SIZE, MAP_SIZE), pixels: rasterize(layer.index, layer.u, layer.v, MAP_SIZE, EXTENT), nodes: layer.index, range, maxAbs: 0 };
      canvas.tabIndex = 0;
      canvas.addEventListener('click', (e) => chooseCellAt(view, e));
      canvas.addEventListener('keydown', (e) => {
        if (e.key !== 'Enter') return;
        e.preventDefault();
        chooseCell(view, -1);
      });
      mapViews.push(view);
    }
    el.maps.append(section);
  }
  const eye = el.eye.getContext('2d')!;
  eyeView = { ctx: eye, image: eye.createImageData(EYE_SIZE, EYE_SIZE), pixels: rasterize(Int32Array.from(n.hexU, (_, i) => i), n.hexU, n.hexV, EYE_SIZE, EXTENT) };
  const legend = el.legendBar.getContext('2d')!;
  const bar = legend.createImageData(el.legendBar.width, el.legendBar.height);
  for (let x = 0; x < bar.width; x++) {
    const k = Math.round((x / (bar.width - 1)) * 255);
    for (let y = 0; y < bar.height; y++) bar.data.set([DIVERGING[k * 3]!, DIVERGING[k * 3 + 1]!, DIVERGING[k * 3 + 2]!, 255], (y * bar.width + x) * 4);
  }
  legend.putImageData(bar, 0, 0);
}

function chooseCellAt(view: MapView, e: MouseEvent): void {
  const r = view.canvas.getBoundingClientRect();
  const px = Math.floor(((e.clientX - r.left) / r.width) * MAP_SIZE);
  const py = Math.floor(((e.clientY - r.top) / r.height) * MAP_SIZE);
  chooseCell(view, view.pixels[py * MAP_SIZE + px] ?? -1);
}

let selectedType: string | null = null;

function showConnectivity(type: string): void {
  if (info === null) return;
  selectedType = type;
  for (const m of mapViews) m.canvas.classList.toggle('selected', m.type === type);
  el.connTitle.textContent = `Connectivity of ${type}'s central cell (synapses summed over the connectome's edges; + excitatory, − inhibitory)`;
  const list = (ol: HTMLElement, links: readonly { type: string; sign: number; synapses: number }[]): void => {
    ol.replaceChildren(
      ...links.map((l) => {
        const li = document.createElement('li');
        li.textContent = `${l.type} ${l.sign > 0 ? '+' : '−'} ${l.synapses.toFixed(1)}`;
        return li;
      }),
    );
  };
  list(el.connIn, info.inputs[type] ?? []);
  list(el.connOut, info.outputs[type] ?? []);
}

/** Adds the cell at `node` (or the type's central cell for -1) to the traces and shows the type's connectivity. */
function chooseCell(view: MapView, node: number): void {
  if (info === null) return;
  showConnectivity(view.type);
  const layer = info.layers[info.cellTypes.indexOf(view.type)]!;
  const k = node >= 0 ? layer.index.indexOf(node) : layer.u.findIndex((u, i) => u === 0 && layer.v[i] === 0);
  if (k < 0) return;
  const c = { type: view.type, u: layer.u[k]!, v: layer.v[k]! };
  if (!chosen.some((x) => x.type === c.type && x.u === c.u && x.v === c.v)) chosen = [...chosen, c].slice(-LINE_COLOURS.length);
  writeUrl();
  renderTraceLegend();
  dirty = true;
}

function nodeOf(c: Chosen): number {
  if (info === null) return -1;
  const t = info.cellTypes.indexOf(c.type);
  if (t < 0) return -1;
  const layer = info.layers[t]!;
  const k = layer.u.findIndex((u, i) => u === c.u && layer.v[i] === c.v);
  return k < 0 ? -1 : layer.index[k]!;
}

function renderTraceLegend(): void {
  el.traceLegend.replaceChildren();
  chosen.forEach((c, i) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.style.borderColor = LINE_COLOURS[i % LINE_COLOURS.length]!;
    b.textContent = `${c.type} (${c.u}, ${c.v}) ×`;
    b.setAttribute('aria-label', `Remove the trace of ${c.type} at u ${c.u}, v ${c.v}`);
    b.addEventListener('click', () => {
      chosen = chosen.filter((x) => x !== c);
      writeUrl();
      renderTraceLegend();
      dirty = true;
    });
    el.traceLegend.append(b);
  });
}

// -- drawing -----------------------------------------------------------------------------------

function activityAt(t: number, node: number): number {
  let k = t;
  for (const b of recorded) {
    const n = b.length / (info?.nodes ?? 1);
    if (k < n) return b[k * info!.nodes + node]!;
    k -= n;
  }
  return NaN;
}

function draw(): void {
  dirty = false;
  if (info === null) return;
  const shared = el.scale.value === 'shared';
  const a = lastActivity.length > 0 ? lastActivity : baseline;
  const sharedMax = Math.max(1e-6, ...mapViews.map((m) => m.maxAbs));
  for (const m of mapViews) {
    const r = shared ? sharedMax : Math.max(1e-6, m.maxAbs);
    paint(m.image, m.pixels, (node) => a[node]! - baseline[node]!, -r, r, DIVERGING);
    m.ctx.putImageData(m.image, 0, 0);
    m.range.textContent = `±${m.maxAbs.toPrecision(2)}`;
  }
  el.legendLo.textContent = shared ? `−${sharedMax.toPrecision(2)}` : '−max';
  el.legendHi.textContent = shared ? `+${sharedMax.toPrecision(2)}` : '+max';
  el.legendText.textContent = shared
    ? 'Activity minus the grey steady state, one range for all maps.'
    : "Activity minus the grey steady state, each map scaled to its own largest |difference| so far (under each map).";
  if (eyeView !== null && lastStimulus.length === hexals && hexals > 0) {
    paint(eyeView.image, eyeView.pixels, (h) => lastStimulus[h]!, 0, 1, GREYS);
    eyeView.ctx.putImageData(eyeView.image, 0, 0);
  }
  drawTraces();
  const rate = frameRate();
  el.status.textContent =
    `Backend ${info.backend} · ${info.nodes.toLocaleString('en')} neurons · frame ${recordedFrames} / ${frames} (t = ${(recordedFrames * info.dt).toFixed(2)} s) · ` +
    `${playing ? 'playing' : recordedFrames >= frames ? 'ended' : 'paused'}${playing ? ` · ${rate.toFixed(0)} frames/s` : Number.isFinite(playedFps) ? ` · played at ${playedFps.toFixed(0)} frames/s` : ''} · ${recordedFrames > 0 ? (simMs / recordedFrames).toFixed(1) : '–'} ms/frame in the worker`;
}

function drawTraces(): void {
  const ctx = el.trace.getContext('2d')!;
  const W = el.trace.width;
  const H = el.trace.height;
  ctx.clearRect(0, 0, W, H);
  if (info === null || frames === 0) return;
  const nodes = chosen.map(nodeOf);
  let lo = Infinity;
  let hi = -Infinity;
  for (const node of nodes) {
    if (node < 0) continue;
    lo = Math.min(lo, 0);
    hi = Math.max(hi, 0);
    for (let t = 0; t < recordedFrames; t++) {
      const x = activityAt(t, node) - baseline[node]!;
      lo = Math.min(lo, x);
      hi = Math.max(hi, x);
    }
  }
  if (!(hi > lo)) {
    lo = -1e-3;
    hi = 1e-3;
  }
  const pad = 0.05 * (hi - lo);
  lo -= pad;
  hi += pad;
  const L = 44;
  const X = (t: number): number => L + (t / Math.max(1, frames - 1)) * (W - L - 6);
  const Y = (x: number): number => H - 16 - ((x - lo) / (hi - lo)) * (H - 24);
  ctx.strokeStyle = '#999';
  ctx.fillStyle = '#333';
  ctx.font = '10px system-ui, sans-serif';
  ctx.beginPath();
  ctx.moveTo(L, 4);
  ctx.lineTo(L, H - 16);
  ctx.lineTo(W - 6, H - 16);
  ctx.stroke();
  ctx.fillText(hi.toPrecision(2), 2, 12);
  ctx.fillText(lo.toPrecision(2), 2, H - 18);
  ctx.strokeStyle = '#ccc';
  ctx.setLineDash([3, 3]);
  ctx.beginPath();
  ctx.moveTo(L, Y(0));
  ctx.lineTo(W - 6, Y(0));
  ctx.stroke();
  ctx.setLineDash([]);
  ctx.fillText('0', L - 10, Y(0) + 3);
  ctx.fillText('0 s', L, H - 4);
  ctx.fillText(`${((frames - 1) * info.dt).toFixed(2)} s`, W - 40, H - 4);
  nodes.forEach((node, i) => {
    if (node < 0 || recordedFrames === 0) return;
    ctx.strokeStyle = LINE_COLOURS[i % LINE_COLOURS.length]!;
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    for (let t = 0; t < recordedFrames; t++) {
      const y = Y(activityAt(t, node) - baseline[node]!);
      if (t === 0) ctx.moveTo(X(t), y);
      else ctx.lineTo(X(t), y);
    }
    ctx.stroke();
  });
}

function frameRate(): number {
  const now = performance.now();
  while (computedAt.length > 0 && computedAt[0]! < now - 1000) computedAt.shift();
  return computedAt.length;
}

function animate(): void {
  if (dirty) draw();
  requestAnimationFrame(animate);
}

// -- playback ----------------------------------------------------------------------------------

function newStimulus(): void {
  if (info === null) return;
  stimuliInFlight++;
  recorded = [];
  recordedFrames = 0;
  lastActivity = new Float32Array(0);
  lastStimulus = new Float32Array(0);
  simMs = 0;
  pending = false;
  if (stepTimer !== null) clearTimeout(stepTimer);
  stepTimer = null;
  for (const m of mapViews) m.maxAbs = 0;
  frames = 0;
  send({ type: 'stimulus', spec: currentSpec() });
  showKindControls();
  writeUrl();
}

function requestFrames(n: number): void {
  if (pending || info === null || frames === 0 || recordedFrames >= frames) return;
  pending = true;
  send({ type: 'step', frames: n });
}

/** Frames per request and the delay between requests for the chosen playback speed (dt = 1/50 s). */
function pace(): { n: number; delay: number } {
  if (el.rate.value === 'max') return { n: 10, delay: 0 };
  const fps = Number(el.rate.value) / (info?.dt ?? 0.02);
  const n = Math.max(1, Math.round(fps / 50));
  return { n, delay: (1000 * n) / fps };
}

function schedule(): void {
  if (!playing || stepTimer !== null) return;
  const { n, delay } = pace();
  stepTimer = setTimeout(() => {
    stepTimer = null;
    if (playing) requestFrames(n);
  }, delay);
}

function setPlaying(p: boolean): void {
  playing = p && (frames === 0 || recordedFrames < frames); // frames 0: the stimulus is on its way
  el.play.textContent = playing ? 'Pause' : 'Play';
  el.play.setAttribute('aria-pressed', String(playing));
  if (playing) playStart = { at: performance.now(), frame: recordedFrames };
  if (playing && !pending) requestFrames(pace().n);
  dirty = true;
}

function onFrames(m: Extract<FromWorker, { type: 'frames' }>): void {
  if (info === null) return;
  pending = false;
  const N = info.nodes;
  recorded.push(m.activity);
  recordedFrames += m.count;
  simMs += m.ms;
  const now = performance.now();
  for (let i = 0; i < m.count; i++) computedAt.push(now);
  lastActivity = m.activity.subarray((m.count - 1) * N, m.count * N);
  lastStimulus = m.stimulus.subarray((m.count - 1) * hexals, m.count * hexals);
  for (const v of mapViews) {
    for (let t = 0; t < m.count; t++) {
      for (const node of v.nodes) {
        const d = Math.abs(m.activity[t * N + node]! - baseline[node]!);
        if (d > v.maxAbs) v.maxAbs = d;
      }
    }
  }
  dirty = true;
  if (recordedFrames >= frames) {
    if (playing) playedFps = (recordedFrames - playStart.frame) / ((now - playStart.at) / 1000);
    setPlaying(false);
  }
  else schedule();
}

worker.onmessage = (e: MessageEvent<FromWorker>) => {
  const m = e.data;
  if (m.type === 'error') {
    errors = [...errors, m.message];
    console.error(`flyvis worker: ${m.message}`);
    el.status.textContent = `Error: ${m.message}`;
    pending = false;
    return;
  }
  if (m.type === 'optimal-progress') {
    el.optStatus.textContent = `Iteration ${m.iteration}: loss ${m.loss.toPrecision(5)}…`;
    return;
  }
  if (m.type === 'optimal') {
    optimising = false;
    el.optRun.disabled = false;
    optimal = { cellType: m.cellType, initialCentral: m.initialCentral, finalCentral: m.finalCentral, frames: m.frames, iterations: m.losses.length, stimulus: m.stimulus };
    el.optStatus.textContent =
      `${m.cellType}: central cell response ${m.initialCentral.toPrecision(5)} for the initial noise → ${m.finalCentral.toPrecision(5)} after ${m.losses.length} iterations ` +
      `(${(m.ms / 1000).toFixed(1)} s; model ${model}).`;
    drawOptimal();
    return;
  }
  if (m.type === 'movie-error') {
    el.message.textContent = `Could not load ${m.name}: ${m.message}`;
    console.warn(`flyvis explorer: could not load ${m.name}: ${m.message}`);
    return;
  }
  if (m.type === 'movie') {
    let option = [...el.stim.options].find((o) => o.value === 'movie');
    if (option === undefined) el.stim.add((option = new Option('', 'movie')));
    option.textContent = `Uploaded movie: ${m.name} (${m.frames} frames)`;
    option.dataset.movie = m.name;
    el.stim.value = 'movie';
    el.message.textContent = '';
    newStimulus();
    return;
  }
  if (m.type === 'checkpoint-error') {
    el.message.textContent = `Could not load ${m.name}: ${m.message}`;
    console.warn(`flyvis explorer: could not load ${m.name}: ${m.message}`);
    return;
  }
  if (m.type === 'model') {
    model = m.name;
    el.model.replaceChildren(...m.models.map((name) => new Option(name, name, false, name === m.name)));
    el.message.textContent = '';
    newStimulus(); // the responses (and the grey steady state) are the new model's
    return;
  }
  if (m.type === 'ready') {
    info = m.info;
    el.model.replaceChildren(new Option(DEFAULT_MODEL, DEFAULT_MODEL, true, true));
    el.optType.replaceChildren(...m.info.cellTypes.map((t) => new Option(t, t, t === 'T4a', t === 'T4a')));
    buildMaps(m.info);
    renderTraceLegend();
    newStimulus();
    return;
  }
  if (m.type === 'stimulus') {
    if (--stimuliInFlight > 0) return;
    frames = m.frames;
    hexals = m.hexals;
    baseline = m.baseline;
    dirty = true;
    if (playing) requestFrames(pace().n);
    return;
  }
  // The worker answers in order: a step requested before a new stimulus is answered before it.
  if (m.type === 'frames' && stimuliInFlight === 0) onFrames(m);
};

// -- controls ----------------------------------------------------------------------------------

function drawOptimal(): void {
  if (optimal === null || info === null) return;
  const size = el.optCanvas.width;
  const ctx = el.optCanvas.getContext('2d')!;
  const image = ctx.createImageData(size, size);
  const pixels = rasterize(Int32Array.from(info.hexU, (_, i) => i), info.hexU, info.hexV, size, EXTENT);
  const H = info.hexU.length;
  const last = optimal.stimulus.subarray((optimal.frames - 1) * H, optimal.frames * H);
  paint(image, pixels, (h) => last[h]!, 0, 1, GREYS);
  ctx.putImageData(image, 0, 0);
  el.optCanvas.hidden = false;
}

function download(blob: Blob, name: string): void {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

/** Every recorded frame's activity, (frames, nodes) float32. */
function allActivity(): Float32Array {
  const all = new Float32Array(recordedFrames * (info?.nodes ?? 0));
  let o = 0;
  for (const b of recorded) {
    all.set(b, o);
    o += b.length;
  }
  return all;
}

el.exportNpy.addEventListener('click', () => {
  if (info === null) return;
  const bytes = encodeNpy(allActivity(), [recordedFrames, info.nodes]);
  download(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }), `flyvis-activity-${el.stim.value}-${recordedFrames}x${info.nodes}.npy`);
});

el.exportPng.addEventListener('click', () => {
  draw();
  const cols = 12;
  const cell = MAP_SIZE + 4;
  const label = 14;
  const canvas = document.createElement('canvas');
  canvas.width = cols * cell;
  canvas.height = Math.ceil(mapViews.length / cols) * (cell + label);
  const ctx = canvas.getContext('2d')!;
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.fillStyle = '#000';
  ctx.font = '10px system-ui, sans-serif';
  ctx.textAlign = 'center';
  mapViews.forEach((m, i) => {
    const x = (i % cols) * cell;
    const y = Math.floor(i / cols) * (cell + label);
    ctx.drawImage(m.canvas, x + 2, y + 2);
    ctx.fillText(m.type, x + cell / 2, y + cell + 10);
  });
  canvas.toBlob((blob) => blob && download(blob, `flyvis-maps-frame-${recordedFrames}.png`), 'image/png');
});

el.optRun.addEventListener('click', () => {
  if (info === null || optimising) return;
  optimising = true;
  el.optRun.disabled = true;
  el.optStatus.textContent = `Optimising for ${el.optType.value}…`;
  send({
    type: 'optimal',
    cellType: el.optType.value,
    iterations: clampNumber(el.optIters, 1, 500, 50, true),
    lr: clampNumber(el.optLr, 1e-4, 1, 0.01, false),
    weightMei: clampNumber(el.optMei, 0, 1e5, 3000, false),
  });
});

async function loadMovieFile(file: File): Promise<void> {
  if (info === null) return;
  const bytes = await file.arrayBuffer();
  worker.postMessage({ type: 'movie', name: file.name, bytes } satisfies ToWorker, [bytes]);
}

el.movieFile.addEventListener('change', () => {
  const file = el.movieFile.files?.[0];
  if (file !== undefined) void loadMovieFile(file);
  el.movieFile.value = '';
});

async function loadCheckpointFile(file: File): Promise<void> {
  if (info === null) {
    el.message.textContent = 'The network is still loading; drop the checkpoint again in a moment.';
    return;
  }
  el.message.textContent = `Loading ${file.name}…`;
  const bytes = await file.arrayBuffer();
  worker.postMessage({ type: 'checkpoint', name: file.name, bytes } satisfies ToWorker, [bytes]);
}

el.checkpointFile.addEventListener('change', () => {
  const file = el.checkpointFile.files?.[0];
  if (file !== undefined) void loadCheckpointFile(file);
  el.checkpointFile.value = '';
});
el.model.addEventListener('change', () => send({ type: 'model', name: el.model.value }));
document.addEventListener('dragover', (e) => {
  e.preventDefault();
  document.body.classList.add('dragging');
});
document.addEventListener('dragleave', () => document.body.classList.remove('dragging'));
document.addEventListener('drop', (e) => {
  e.preventDefault();
  document.body.classList.remove('dragging');
  const file = e.dataTransfer?.files[0];
  if (file !== undefined) void (file.name.toLowerCase().endsWith('.npy') ? loadMovieFile(file) : loadCheckpointFile(file));
});

for (const c of [el.stim, el.intensity, el.radius, el.tstim, el.angle, el.speed, el.width, el.period, el.tf]) c.addEventListener('change', newStimulus);

/** Shows the controls of the chosen kind of stimulus (data-kinds lists the kinds a control is for). */
function showKindControls(): void {
  for (const e of document.querySelectorAll<HTMLElement>('[data-kinds]')) e.hidden = !(e.dataset.kinds ?? '').split(' ').includes(el.stim.value);
}
el.rate.addEventListener('change', writeUrl);
el.scale.addEventListener('change', () => {
  writeUrl();
  dirty = true;
});
function togglePlay(): void {
  if (!playing && frames > 0 && recordedFrames >= frames) newStimulus(); // ended: play again from the start
  setPlaying(!playing);
}
el.play.addEventListener('click', togglePlay);
el.step.addEventListener('click', () => {
  setPlaying(false);
  requestFrames(1);
});
el.restart.addEventListener('click', newStimulus);

function changeRate(by: number): void {
  const i = RATES.indexOf(el.rate.value);
  el.rate.value = RATES[Math.max(0, Math.min(RATES.length - 1, i + by))]!;
  writeUrl();
  dirty = true;
}

document.addEventListener('keydown', (e) => {
  const t = e.target as HTMLElement;
  if (e.ctrlKey || e.metaKey || e.altKey || t instanceof HTMLInputElement || t instanceof HTMLSelectElement || t instanceof HTMLTextAreaElement) return;
  if (e.key === ' ' && !(t instanceof HTMLButtonElement)) {
    e.preventDefault();
    togglePlay();
  } else if (e.key === 'ArrowRight') {
    e.preventDefault();
    el.step.click();
  } else if (e.key === 'r' || e.key === 'R') el.restart.click();
  else if (e.key === '+' || e.key === '=') changeRate(1);
  else if (e.key === '-') changeRate(-1);
});

// -- start -------------------------------------------------------------------------------------

readUrl();
showKindControls();
send({ type: 'init', wasmUrl: new URL('flyvis-kernels.wasm', document.baseURI).href, connectomeUrl: new URL('fib25-fib19_v2.2.json', document.baseURI).href });
requestAnimationFrame(animate);

/** For the browser test: what the page computed and drew. */
const testApi = {
  status: () => ({ ready: info !== null, backend: info?.backend ?? null, nodes: info?.nodes ?? 0, frames, recordedFrames, playing, errors, model, selectedType, optimal: optimal === null ? null : { cellType: optimal.cellType, initialCentral: optimal.initialCentral, finalCentral: optimal.finalCentral, iterations: optimal.iterations }, message: el.message.textContent ?? '', frameRate: frameRate(), playedFps, msPerFrame: recordedFrames > 0 ? simMs / recordedFrames : NaN, url: location.search }),
  /** Every recorded frame's activity, (frames, nodes) float32, as base64. */
  activityBase64: (): string => {
    const a = allActivity();
    const all = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    let s = '';
    for (let i = 0; i < all.length; i += 0x8000) s += String.fromCharCode(...all.subarray(i, i + 0x8000));
    return btoa(s);
  },
  /** Per map: its cell type and cells, the pixels its cells cover, the pixels drawn (opaque) and distinct colours among them. */
  maps: () => {
    draw();
    return mapViews.map((m) => {
      const d = m.ctx.getImageData(0, 0, MAP_SIZE, MAP_SIZE).data;
      let drawn = 0;
      const colours = new Set<number>();
      for (let p = 0; p < d.length; p += 4) {
        if (d[p + 3] === 255) {
          drawn++;
          colours.add((d[p]! << 16) | (d[p + 1]! << 8) | d[p + 2]!);
        }
      }
      let cellPixels = 0;
      for (const node of m.pixels) if (node >= 0) cellPixels++;
      return { type: m.type, cells: m.nodes.length, cellPixels, drawn, colours: colours.size };
    });
  },
};
(window as unknown as { flyvisExplorer: typeof testApi }).flyvisExplorer = testApi;
