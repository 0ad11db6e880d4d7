// The explorer page: controls, playback and views. The network runs in a Web Worker
// (web/src/worker.ts); this thread only draws. The state of the stimulus and the view is kept in
// the URL's query string (shareable, reloadable). `window.flyvisExplorer` lets the browser test
// read what the page computed and drew.
import { DEFAULT_MODEL, type AnalysisResult, type EngineName, type EngineReport, type FromWorker, type NetworkInfo, type ToWorker } from './protocol.ts';
import {
  ALL_SPEEDS, DEFAULT_BAR, DEFAULT_DOTS, DEFAULT_DRAWN, DEFAULT_DSI, DEFAULT_EDGE, DEFAULT_FLASH, DEFAULT_FRI, DEFAULT_GRATING, EXTENT, decodeDrawing, encodeDrawing,
  type AnalysisSettings, type StimulusSpec,
} from './spec.ts';
import { DIVERGING, GREYS, colourIndex, hexCentre, latticeScale, lutHex, paint, rasterize } from './hexmap.ts';
import { viewSvg } from './svg.ts';
import { encodeNpy } from '../../src/io/npy.ts';

const ANGLES = [0, 30, 60, 90, 120, 150, 180, 210, 240, 270, 300, 330];
const SPEEDS = [2.4, 4.8, 9.7, 13, 19, 25];
const RATES = ['0.1', '0.25', '0.5', '1', '2', 'max'];
const MAP_SIZE = 68;
const EYE_SIZE = 200;
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
  dotU: $<HTMLInputElement>('dot-u'),
  dotV: $<HTMLInputElement>('dot-v'),
  dotRadius: $<HTMLSelectElement>('dot-radius'),
  dotMode: $<HTMLSelectElement>('dot-mode'),
  dotTimp: $<HTMLSelectElement>('dot-timp'),
  brush: $<HTMLSelectElement>('brush'),
  brushSize: $<HTMLSelectElement>('brush-size'),
  drawMode: $<HTMLSelectElement>('draw-mode'),
  drawClear: $<HTMLButtonElement>('draw-clear'),
  backend: $<HTMLSelectElement>('backend'),
  backendInfo: $('backend-info'),
  resultsZip: $<HTMLInputElement>('results-zip'),
  resultsFolder: $<HTMLInputElement>('results-folder'),
  modelDetail: $('model-detail'),
  exportSvg: $<HTMLButtonElement>('export-svg'),
  anDt: $<HTMLSelectElement>('an-dt'),
  anRadii: $<HTMLSelectElement>('an-radii'),
  anSpeeds: $('an-speeds'),
  friRun: $<HTMLButtonElement>('fri-run'),
  dsiRun: $<HTMLButtonElement>('dsi-run'),
  anCancel: $<HTMLButtonElement>('an-cancel'),
  anProgress: $<HTMLProgressElement>('an-progress'),
  anStatus: $('an-status'),
  friView: $('fri-view'),
  dsiView: $('dsi-view'),
  tuningView: $('tuning-view'),
  tuning: $('tuning'),
  tuningCaption: $('tuning-caption'),
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
  optMode: $<HTMLSelectElement>('opt-mode'),
  optScenes: $<HTMLInputElement>('opt-scenes'),
  optL2Stim: $<HTMLInputElement>('opt-l2stim'),
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
for (const s of ALL_SPEEDS) {
  const label = document.createElement('label');
  const box = document.createElement('input');
  box.type = 'checkbox';
  box.value = String(s);
  box.checked = DEFAULT_DSI.speeds.includes(s);
  label.append(box, ` ${s}`);
  el.anSpeeds.append(label);
}

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
  set(el.dotU, 'u');
  set(el.dotV, 'v');
  set(el.dotRadius, 'dr');
  set(el.dotMode, 'dmode');
  set(el.dotTimp, 'timp');
  set(el.drawMode, 'draw-mode');
  const draw = q.get('draw');
  if (draw !== null) drawing = new Map(decodeDrawing(draw, 721) ?? []);
  askedBackend = q.get('backend') ?? undefined;
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
  } else if (kind === 'edge' || kind === 'bar' || kind === 'grating') {
    q.set('angle', el.angle.value);
    if (kind !== 'grating') q.set('speed', el.speed.value);
    if (kind === 'bar') q.set('width', el.width.value);
    if (kind === 'grating') {
      q.set('period', el.period.value);
      q.set('tf', el.tf.value);
    }
  }
  if (kind === 'flash' || kind === 'dots' || kind === 'drawn') q.set('tstim', el.tstim.value);
  if (kind === 'dots') {
    q.set('u', el.dotU.value);
    q.set('v', el.dotV.value);
    q.set('dr', el.dotRadius.value);
    q.set('dmode', el.dotMode.value);
    if (el.dotMode.value === 'impulse') q.set('timp', el.dotTimp.value);
  }
  if (kind === 'drawn') {
    q.set('draw', encodeDrawing([...drawing]));
    q.set('draw-mode', el.drawMode.value);
  }
  if (kind === 'drawn' || kind === 'grating' || kind === 'movie') q.delete('intensity');
  q.set('rate', el.rate.value);
  q.set('scale', el.scale.value);
  if (activeBackend !== null && backendChosenBy !== 'probe') q.set('backend', activeBackend);
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
  const tStim = clampNumber(el.tstim, 0.02, 5, DEFAULT_FLASH.tStim, false);
  if (el.stim.value === 'dots') {
    const u = clampNumber(el.dotU, -EXTENT, EXTENT, 0, true);
    let v = clampNumber(el.dotV, -EXTENT, EXTENT, 0, true);
    if (Math.abs(u + v) > EXTENT) {
      v = Math.sign(u + v) * EXTENT - u; // outside the hexagonal eye: the column on its border at this u
      el.dotV.value = String(v);
    }
    const mode = el.dotMode.value === 'impulse' ? 'impulse' : 'sustained';
    return { ...DEFAULT_DOTS, u, v, intensity, radius: Number(el.dotRadius.value), mode, tImpulse: Number(el.dotTimp.value), tStim };
  }
  if (el.stim.value === 'drawn') return { ...DEFAULT_DRAWN, paint: [...drawing], mode: el.drawMode.value === 'hold' ? 'hold' : 'flash', tStim };
  return { ...DEFAULT_FLASH, intensity, radius: clampNumber(el.radius, -1, EXTENT, -1, true), tStim };
}

// -- state -------------------------------------------------------------------------------------

let info: NetworkInfo | null = null;
let chosen: Chosen[] = [];
let frames = 0; // frames of the current stimulus
let hexals = 0;
let baseline: Float32Array = new Float32Array(0);
let recorded: Float32Array[] = []; // batches of (count, nodes) activity, in order
let recordedStimulus: Float32Array[] = []; // batches of (count, hexals) stimulus, in order
/** The drawn stimulus: painted hexals and their intensity (insertion order). */
let drawing = new Map<number, number>();
let drawingActive = false; // a pointer is down on the eye
let askedBackend: string | undefined;
let activeBackend: EngineName | null = null;
let backendChosenBy: 'probe' | 'url' | 'user' = 'probe';
let backendReports: readonly EngineReport[] = [];
let analysisRunning: 'fri' | 'dsi' | null = null;
let friResult: { result: Extract<AnalysisResult, { kind: 'fri' }>; model: string; ms: number } | null = null;
let dsiResult: { result: Extract<AnalysisResult, { kind: 'dsi' }>; model: string; ms: number } | null = null;
let recordedFrames = 0;
let lastActivity: Float32Array = new Float32Array(0);
let lastStimulus: Float32Array = new Float32Array(0);
let playing = false;
let pending = false; // a step request is out
let stimuliInFlight = 0; // stimulus messages not yet answered: until then, frame replies are an old stimulus's
let dirty = false;
let simMs = 0; // worker time for the frames so far
const shownAt: number[] = []; // wall-clock times of shown frames, for the frame rate
let stepAsked = false; // a step's frame is on its way: shown when it comes
let computed = 0; // frames the worker computed for the current stimulus (recordedFrames of them are shown)
let errors: string[] = [];
let model = DEFAULT_MODEL;
let optimal: (Pick<Extract<FromWorker, { type: 'optimal' }>, 'mode' | 'cellType' | 'initialCentral' | 'finalCentral' | 'frames' | 'stimulus' | 'showFrame' | 'natural' | 'firstLoss' | 'finalLoss'> & { iterations: number }) | null = null;
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
  hexIndex = new Map(Array.from(n.hexU, (u, i) => [`${u},${n.hexV[i]}`, i] as const));
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

/** A map's colour range ±r: its own largest |difference| so far, or all maps' (shared scale). */
function mapRange(m: MapView): number {
  return el.scale.value === 'shared' ? Math.max(1e-6, ...mapViews.map((x) => x.maxAbs)) : Math.max(1e-6, m.maxAbs);
}

function draw(): void {
  dirty = false;
  if (info === null) return;
  const shared = el.scale.value === 'shared';
  const a = lastActivity.length > 0 ? lastActivity : baseline;
  const sharedMax = Math.max(1e-6, ...mapViews.map((m) => m.maxAbs));
  for (const m of mapViews) {
    const r = mapRange(m);
    paint(m.image, m.pixels, (node) => a[node]! - baseline[node]!, -r, r, DIVERGING);
    m.ctx.putImageData(m.image, 0, 0);
    m.range.textContent = `±${m.maxAbs.toPrecision(2)}`;
  }
  el.legendLo.textContent = shared ? `−${sharedMax.toPrecision(2)}` : '−max';
  el.legendHi.textContent = shared ? `+${sharedMax.toPrecision(2)}` : '+max';
  el.legendText.textContent = shared
    ? 'Activity minus the grey steady state, one range for all maps.'
    : "Activity minus the grey steady state, each map scaled to its own largest |difference| so far (under each map).";
  if (eyeView !== null && el.stim.value === 'drawn' && (drawingActive || recordedFrames === 0)) {
    // the drawing itself, while it is drawn and before it plays
    paint(eyeView.image, eyeView.pixels, (h) => drawing.get(h) ?? 0.5, 0, 1, GREYS);
    eyeView.ctx.putImageData(eyeView.image, 0, 0);
  } else if (eyeView !== null && lastStimulus.length === hexals && hexals > 0) {
    paint(eyeView.image, eyeView.pixels, (h) => lastStimulus[h]!, 0, 1, GREYS);
    eyeView.ctx.putImageData(eyeView.image, 0, 0);
  }
  if (eyeView !== null && eyeCursor !== null && document.activeElement === el.eye) {
    // the keyboard's cursor: a ring around its hexal
    const [x, y] = hexCentre(eyeCursor.u, eyeCursor.v, EYE_SIZE, EXTENT);
    const r = 1.2 / latticeScale(EYE_SIZE, EXTENT);
    eyeView.ctx.strokeStyle = '#0b61d6';
    eyeView.ctx.lineWidth = 2;
    eyeView.ctx.beginPath();
    eyeView.ctx.arc(x, y, r, 0, 2 * Math.PI);
    eyeView.ctx.stroke();
  }
  drawTraces();
  const rate = frameRate();
  el.status.textContent =
    `Backend ${activeBackend ?? info.backend} · ${info.nodes.toLocaleString('en')} neurons · frame ${recordedFrames} / ${frames} (t = ${(recordedFrames * info.dt).toFixed(2)} s) · ` +
    `${playing ? 'playing' : recordedFrames >= frames ? 'ended' : 'paused'}${playing ? ` · ${rate.toFixed(0)} frames/s` : Number.isFinite(playedFps) ? ` · played at ${playedFps.toFixed(0)} frames/s` : ''} · ${computed > 0 ? (simMs / computed).toFixed(1) : '–'} ms/frame in the worker`;
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
  while (shownAt.length > 0 && shownAt[0]! < now - 1000) shownAt.shift();
  return shownAt.length;
}

function animate(): void {
  if (playing) pump();
  if (dirty) draw();
  requestAnimationFrame(animate);
}

// -- playback ----------------------------------------------------------------------------------
// The worker computes frames ahead in batches (each call into the network has a fixed cost, so
// one frame per call could not keep 50 frames/s); the page shows them on a clock at the chosen
// rate ('max': as they arrive), asking for the next batch while a few are still to be shown.

function newStimulus(): void {
  if (info === null) return;
  stimuliInFlight++;
  recorded = [];
  recordedStimulus = [];
  recordedFrames = 0;
  computed = 0;
  lastActivity = new Float32Array(0);
  lastStimulus = new Float32Array(0);
  simMs = 0;
  pending = false;
  for (const m of mapViews) m.maxAbs = 0;
  frames = 0;
  send({ type: 'stimulus', spec: currentSpec() });
  showKindControls();
  writeUrl();
}

function requestFrames(n: number): void {
  if (pending || info === null || frames === 0 || computed >= frames) return;
  pending = true;
  send({ type: 'step', frames: n });
}

/** Frames per request and frames per second for the chosen playback speed (dt = 1/50 s). */
function pace(): { n: number; fps: number } {
  if (el.rate.value === 'max') return { n: 10, fps: Infinity };
  const fps = Number(el.rate.value) / (info?.dt ?? 0.02);
  return { n: Math.max(1, Math.min(10, Math.round(fps * 0.2))), fps }; // 0.2 s of frames per request, at most 10
}

/** The playback clock: frames are due at a steady rate from when playback (or its speed) last started. */
let clock = { at: 0, frame: 0 };

/** Frame t's activity (nodes) and stimulus (hexals), views into the batch that holds it. */
function frameAt(t: number): { activity: Float32Array; stimulus: Float32Array } {
  const N = info!.nodes;
  let k = t;
  for (let b = 0; b < recorded.length; b++) {
    const n = recorded[b]!.length / N;
    if (k < n) return { activity: recorded[b]!.subarray(k * N, (k + 1) * N), stimulus: recordedStimulus[b]!.subarray(k * hexals, (k + 1) * hexals) };
    k -= n;
  }
  throw new Error(`frame ${t} is not computed yet`);
}

/** Shows the computed frames up to `upTo` (exclusive): the maps' ranges take them in, the maps show the last. */
function show(upTo: number): void {
  if (info === null) return;
  const target = Math.min(upTo, computed);
  if (target <= recordedFrames) return;
  const now = performance.now();
  for (let t = recordedFrames; t < target; t++) {
    const { activity } = frameAt(t);
    for (const v of mapViews) {
      for (const node of v.nodes) {
        const d = Math.abs(activity[node]! - baseline[node]!);
        if (d > v.maxAbs) v.maxAbs = d;
      }
    }
    shownAt.push(now);
  }
  recordedFrames = target;
  ({ activity: lastActivity, stimulus: lastStimulus } = frameAt(target - 1));
  dirty = true;
  if (recordedFrames >= frames && playing) {
    playedFps = (recordedFrames - playStart.frame) / ((now - playStart.at) / 1000);
    setPlaying(false);
  }
}

/** While playing: shows the frames due on the clock and keeps the worker a batch ahead. */
function pump(): void {
  if (!playing || info === null || frames === 0) return;
  const { n, fps } = pace();
  const now = performance.now();
  if (!Number.isFinite(fps)) show(computed);
  else {
    const due = clock.frame + Math.floor(((now - clock.at) * fps) / 1000) + 1;
    if (due > computed && recordedFrames === computed) clock = { at: now, frame: recordedFrames }; // starved: the clock waits for the worker
    show(due);
  }
  if (playing && computed - recordedFrames < n) requestFrames(n);
}

function setPlaying(p: boolean): void {
  playing = p && (frames === 0 || recordedFrames < frames); // frames 0: the stimulus is on its way
  el.play.textContent = playing ? 'Pause' : 'Play';
  el.play.setAttribute('aria-pressed', String(playing));
  if (playing) playStart = clock = { at: performance.now(), frame: recordedFrames };
  if (playing) pump();
  dirty = true;
}

function onFrames(m: Extract<FromWorker, { type: 'frames' }>): void {
  if (info === null) return;
  pending = false;
  recorded.push(m.activity);
  recordedStimulus.push(m.stimulus);
  computed += m.count;
  simMs += m.ms;
  if (playing) pump();
  else if (stepAsked) {
    stepAsked = false;
    show(recordedFrames + 1); // a step: shown at once
  }
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
  if (m.type === 'backends') {
    showBackends(m.reports, m.active, m.chosenBy);
    return;
  }
  if (m.type === 'backend-error') {
    el.message.textContent = `Backend ${m.name}: ${m.message}`;
    console.warn(`flyvis explorer: backend ${m.name}: ${m.message}`);
    if (activeBackend !== null) el.backend.value = activeBackend;
    return;
  }
  if (m.type === 'analysis-progress') {
    el.anProgress.hidden = false;
    el.anProgress.value = m.total > 0 ? m.done / m.total : 0;
    el.anStatus.textContent = `${m.kind === 'fri' ? 'Flash responses' : 'Moving edges'}: ${m.done.toLocaleString('en')} of ${m.total.toLocaleString('en')} sample-frames simulated…`;
    return;
  }
  if (m.type === 'analysis') {
    analysisDone();
    if (m.result.kind === 'fri') friResult = { result: m.result, model: m.model, ms: m.ms };
    else dsiResult = { result: m.result, model: m.model, ms: m.ms };
    el.anStatus.textContent = `${m.result.kind === 'fri' ? 'FRI' : 'DSI'} of ${m.model} in ${(m.ms / 1000).toFixed(1)} s (dt ${m.result.settings.dt} s). Click a row to see its cell type.`;
    renderAnalyses();
    return;
  }
  if (m.type === 'analysis-error') {
    analysisDone();
    el.anStatus.textContent = m.cancelled ? `Cancelled (${m.message}).` : `The analysis failed: ${m.message}`;
    if (!m.cancelled) console.warn(`flyvis explorer: analysis: ${m.message}`);
    return;
  }
  if (m.type === 'optimal-progress') {
    el.optStatus.textContent = m.searched ? `Searching the scenes: ${m.searched[0]} of ${m.searched[1]} movies…` : `Iteration ${m.iteration}: loss ${m.loss.toPrecision(5)}…`;
    return;
  }
  if (m.type === 'optimal') {
    optimising = false;
    el.optRun.disabled = false;
    const { type: _t, losses, ms: _ms, ...kept } = m;
    optimal = { ...kept, iterations: losses.length };
    if (m.mode === 'regularized' && m.natural && m.finalLoss) {
      const n = m.natural;
      el.optStatus.textContent =
        `${m.cellType}: the most exciting of ${n.movies} naturalistic movies is ${n.index} (scene ${n.item}, flip axis ${n.flipAxis}, rotation ${n.rotation} × 60°; peak ${n.peak.toPrecision(5)} at frame ${n.frame}); ` +
        `regularized over ${losses.length} iterations: pull to grey ${m.firstLoss ? m.firstLoss.stim.toPrecision(5) : '–'} → ${m.finalLoss.stim.toPrecision(5)}, response deviation ${m.finalLoss.act.toPrecision(3)}, ` +
        `peak central response ${m.initialCentral.toPrecision(5)} (natural) → ${m.finalCentral.toPrecision(5)} (${(m.ms / 1000).toFixed(1)} s; model ${model}; the natural peak's frame is shown).`;
    } else {
      el.optStatus.textContent =
        `${m.cellType}: central cell response ${m.initialCentral.toPrecision(5)} for the initial noise → ${m.finalCentral.toPrecision(5)} after ${losses.length} iterations ` +
        `(${(m.ms / 1000).toFixed(1)} s; model ${model}).`;
    }
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
    el.modelDetail.textContent = m.detail ?? '';
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
    activeBackend = m.backend as EngineName;
    dirty = true;
    stepAsked = false;
    if (playing) {
      playStart = clock = { at: performance.now(), frame: 0 };
      pump();
    }
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
  const last = optimal.stimulus.subarray(optimal.showFrame * H, (optimal.showFrame + 1) * H);
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

function concat(parts: readonly Float32Array[]): Float32Array {
  const all = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.length;
  }
  return all;
}

function base64(a: Float32Array): string {
  const all = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  let s = '';
  for (let i = 0; i < all.length; i += 0x8000) s += String.fromCharCode(...all.subarray(i, i + 0x8000));
  return btoa(s);
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

el.optMode.addEventListener('change', () => {
  const mode = el.optMode.value;
  for (const e of document.querySelectorAll<HTMLElement>('[data-opt]')) e.hidden = e.dataset.opt !== mode;
  el.optIters.value = mode === 'regularized' ? '20' : '50';
});

el.optRun.addEventListener('click', () => {
  if (info === null || optimising) return;
  optimising = true;
  el.optRun.disabled = true;
  el.optStatus.textContent = `Optimising for ${el.optType.value}…`;
  send({
    type: 'optimal',
    cellType: el.optType.value,
    mode: el.optMode.value === 'regularized' ? 'regularized' : 'artificial',
    iterations: clampNumber(el.optIters, 1, 500, 50, true),
    lr: clampNumber(el.optLr, 1e-4, 1, 0.01, false),
    weightMei: clampNumber(el.optMei, 0, 1e5, 3000, false),
    scenes: clampNumber(el.optScenes, 1, 32, 1, true),
    l2Stim: clampNumber(el.optL2Stim, 0, 100, 1, false),
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
  void dropped(e.dataTransfer);
});

/** A drop: a folder (a results directory), a .zip (one zipped), a .npy (a movie) or a checkpoint. */
async function dropped(transfer: DataTransfer | null): Promise<void> {
  if (transfer === null) return;
  const entry = transfer.items.length > 0 ? transfer.items[0]!.webkitGetAsEntry?.() : null;
  if (entry?.isDirectory) {
    if (info === null) return;
    el.message.textContent = `Reading ${entry.name}/…`;
    try {
      const files = await readDirectoryEntry(entry as FileSystemDirectoryEntry, '');
      sendResultsFiles(entry.name, files);
    } catch (err) {
      el.message.textContent = `Could not read ${entry.name}: ${err instanceof Error ? err.message : String(err)}`;
    }
    return;
  }
  const file = transfer.files[0];
  if (file === undefined) return;
  const name = file.name.toLowerCase();
  if (name.endsWith('.npy')) return loadMovieFile(file);
  if (name.endsWith('.zip')) return loadResultsZip(file);
  return loadCheckpointFile(file);
}

/** Every file under a dropped folder, with its path relative to the folder. */
async function readDirectoryEntry(dir: FileSystemDirectoryEntry, prefix: string): Promise<{ path: string; file: File }[]> {
  const reader = dir.createReader();
  const entries: FileSystemEntry[] = [];
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((ok, fail) => reader.readEntries(ok, fail));
    if (batch.length === 0) break;
    entries.push(...batch);
  }
  const out: { path: string; file: File }[] = [];
  for (const e of entries) {
    const path = prefix === '' ? e.name : `${prefix}/${e.name}`;
    if (e.isDirectory) out.push(...(await readDirectoryEntry(e as FileSystemDirectoryEntry, path)));
    else out.push({ path, file: await new Promise<File>((ok, fail) => (e as FileSystemFileEntry).file(ok, fail)) });
  }
  return out;
}

function sendResultsFiles(name: string, files: readonly { path: string; file: File }[]): void {
  el.message.textContent = `Loading ${name} (${files.length} files)…`;
  void Promise.all(files.map(async (f) => ({ path: f.path, bytes: await f.file.arrayBuffer() }))).then((read) => {
    worker.postMessage({ type: 'results', name, files: read } satisfies ToWorker, read.map((f) => f.bytes));
  });
}

async function loadResultsZip(file: File): Promise<void> {
  if (info === null) return;
  el.message.textContent = `Loading ${file.name}…`;
  const bytes = await file.arrayBuffer();
  worker.postMessage({ type: 'results', name: file.name, zip: bytes } satisfies ToWorker, [bytes]);
}

el.resultsZip.addEventListener('change', () => {
  const file = el.resultsZip.files?.[0];
  if (file !== undefined) void loadResultsZip(file);
  el.resultsZip.value = '';
});
el.resultsFolder.addEventListener('change', () => {
  const list = [...(el.resultsFolder.files ?? [])];
  el.resultsFolder.value = '';
  if (list.length === 0 || info === null) return;
  // webkitRelativePath starts with the chosen folder's name: paths relative to it
  const root = list[0]!.webkitRelativePath.split('/')[0] ?? 'folder';
  sendResultsFiles(root, list.map((f) => ({ path: f.webkitRelativePath.split('/').slice(1).join('/') || f.name, file: f })));
});

// -- backends ----------------------------------------------------------------------------------

function showBackends(reports: readonly EngineReport[], active: EngineName, by: 'probe' | 'url' | 'user'): void {
  const previous = activeBackend;
  backendReports = reports;
  activeBackend = active;
  backendChosenBy = by;
  el.backend.replaceChildren(
    ...reports.map((r) => {
      const text = !r.probed ? `${r.name} (not probed yet)` : !r.available ? `${r.name} (not available)` : r.correct ? `${r.name} (${r.msPerFrame!.toFixed(2)} ms/frame)` : `${r.name} (disagrees with wasm)`;
      const o = new Option(text, r.name, false, r.name === active);
      o.disabled = r.probed && (!r.available || !r.correct);
      return o;
    }),
  );
  const line = (r: EngineReport): string =>
    !r.probed
      ? `${r.name}: ${r.detail}`
      : !r.available
      ? `${r.name}: not available (${r.detail})`
      : `${r.name}: ${r.detail}, ${r.msPerFrame!.toFixed(2)} ms/frame in the probe${r.name === 'wasm' ? '' : `, largest difference from wasm ${r.maxDiff!.toExponential(1)}${r.correct ? '' : ' (more than 1e-5: not offered)'}`}`;
  const why = by === 'probe' ? 'the fastest that agrees with wasm to 1e-5 in a short flash' : by === 'url' ? 'asked for in the link' : 'chosen here';
  el.backendInfo.textContent = `Running on ${active} (${why}). ${reports.map(line).join('; ')}.`;
  writeUrl();
  dirty = true;
  if (by === 'user' && previous !== active) newStimulus(); // the movie again, on the new backend
}

el.backend.addEventListener('change', () => send({ type: 'backend', name: el.backend.value as EngineName }));

// -- drawing on the eye ------------------------------------------------------------------------

/** Receptor lattice index by "u,v". */
let hexIndex = new Map<string, number>();
let lastPaint: { x: number; y: number } | null = null;

/** Paints the hexals within the brush radius of the hexal at canvas pixel (px, py). */
function paintPixel(px: number, py: number): void {
  if (info === null || eyeView === null || px < 0 || py < 0 || px >= EYE_SIZE || py >= EYE_SIZE) return;
  const h = eyeView.pixels[Math.floor(py) * EYE_SIZE + Math.floor(px)]!;
  if (h < 0) return;
  const value = Number(el.brush.value);
  const b = Number(el.brushSize.value);
  const u0 = info.hexU[h]!;
  const v0 = info.hexV[h]!;
  for (let du = -b; du <= b; du++) {
    for (let dv = Math.max(-b, -b - du); dv <= Math.min(b, b - du); dv++) {
      const k = hexIndex.get(`${u0 + du},${v0 + dv}`);
      if (k === undefined) continue;
      drawing.delete(k); // re-inserted last: the latest stroke wins in the URL too
      drawing.set(k, value);
    }
  }
  dirty = true;
}

/** Paints along the pointer's path since the last event (fast strokes skip no hexal). */
function paintTo(e: PointerEvent): void {
  const r = el.eye.getBoundingClientRect();
  const x = ((e.clientX - r.left) / r.width) * EYE_SIZE;
  const y = ((e.clientY - r.top) / r.height) * EYE_SIZE;
  const from = lastPaint ?? { x, y };
  const n = Math.max(1, Math.ceil(Math.hypot(x - from.x, y - from.y)));
  for (let i = 1; i <= n; i++) paintPixel(from.x + ((x - from.x) * i) / n, from.y + ((y - from.y) * i) / n);
  lastPaint = { x, y };
}

/** The keyboard's cursor on the eye (drawn and dot stimuli): arrows move it, Enter or Space paints or places the dot. */
let eyeCursor: { u: number; v: number } | null = null;
el.eye.tabIndex = 0;
el.eye.addEventListener('focus', () => {
  eyeCursor ??= { u: 0, v: 0 };
  dirty = true;
});
el.eye.addEventListener('blur', () => (dirty = true));
el.eye.addEventListener('keydown', (e) => {
  if (info === null || (el.stim.value !== 'drawn' && el.stim.value !== 'dots')) return;
  const c = eyeCursor ?? { u: 0, v: 0 };
  const step: Record<string, [number, number]> = { ArrowUp: [1, 0], ArrowDown: [-1, 0], ArrowRight: [0, 1], ArrowLeft: [0, -1] };
  const d = step[e.key];
  if (d !== undefined) {
    const next = { u: c.u + d[0], v: c.v + d[1] };
    if (hexIndex.has(`${next.u},${next.v}`)) eyeCursor = next;
  } else if (e.key === 'Enter' || e.key === ' ') {
    if (el.stim.value === 'dots') {
      el.dotU.value = String(c.u);
      el.dotV.value = String(c.v);
    } else {
      const [x, y] = hexCentre(c.u, c.v, EYE_SIZE, EXTENT);
      paintPixel(x, y);
    }
    newStimulus();
  } else return;
  e.preventDefault();
  e.stopPropagation(); // not the page's playback keys
  dirty = true;
});

el.eye.addEventListener('pointerdown', (e) => {
  if (info === null || eyeView === null) return;
  if (el.stim.value === 'dots') {
    // a click on the eye puts the dot there
    const r = el.eye.getBoundingClientRect();
    const h = eyeView.pixels[Math.floor(((e.clientY - r.top) / r.height) * EYE_SIZE) * EYE_SIZE + Math.floor(((e.clientX - r.left) / r.width) * EYE_SIZE)] ?? -1;
    if (h < 0) return;
    el.dotU.value = String(info.hexU[h]);
    el.dotV.value = String(info.hexV[h]);
    newStimulus();
    return;
  }
  if (el.stim.value !== 'drawn') return;
  e.preventDefault();
  el.eye.setPointerCapture(e.pointerId);
  setPlaying(false);
  drawingActive = true;
  lastPaint = null;
  paintTo(e);
});
el.eye.addEventListener('pointermove', (e) => {
  if (!drawingActive) return;
  for (const c of e.getCoalescedEvents?.() ?? [e]) paintTo(c);
});
const endStroke = (): void => {
  if (!drawingActive) return;
  drawingActive = false;
  lastPaint = null;
  newStimulus(); // the drawing as the stimulus, from the start
};
el.eye.addEventListener('pointerup', endStroke);
el.eye.addEventListener('pointercancel', endStroke);
el.drawClear.addEventListener('click', () => {
  drawing = new Map();
  newStimulus();
});

for (const c of [el.stim, el.intensity, el.radius, el.tstim, el.angle, el.speed, el.width, el.period, el.tf, el.dotU, el.dotV, el.dotRadius, el.dotMode, el.dotTimp, el.drawMode]) c.addEventListener('change', newStimulus);

// -- analyses ----------------------------------------------------------------------------------

function analysisSettings(kind: 'fri' | 'dsi'): AnalysisSettings {
  const dt = Number(el.anDt.value);
  if (kind === 'fri') return { ...DEFAULT_FRI, dt, radii: el.anRadii.value.split(',').map(Number) };
  const speeds = [...el.anSpeeds.querySelectorAll<HTMLInputElement>('input:checked')].map((b) => Number(b.value));
  return { ...DEFAULT_DSI, dt, speeds: speeds.length > 0 ? speeds : [...DEFAULT_DSI.speeds] };
}

function runAnalysis(kind: 'fri' | 'dsi'): void {
  if (info === null || analysisRunning !== null) return;
  analysisRunning = kind;
  el.friRun.disabled = true;
  el.dsiRun.disabled = true;
  el.anCancel.disabled = false;
  el.anProgress.hidden = false;
  el.anProgress.value = 0;
  el.anStatus.textContent = `${kind === 'fri' ? 'Flash responses' : 'Moving edges'}: the grey steady state…`;
  setPlaying(false);
  send({ type: 'analysis', settings: analysisSettings(kind) });
}

function analysisDone(): void {
  analysisRunning = null;
  el.friRun.disabled = false;
  el.dsiRun.disabled = false;
  el.anCancel.disabled = true;
  el.anProgress.hidden = true;
}

el.friRun.addEventListener('click', () => runAnalysis('fri'));
el.dsiRun.addEventListener('click', () => runAnalysis('dsi'));
el.anCancel.addEventListener('click', () => send({ type: 'cancel-analysis' }));

const fmt = (x: number | null, digits = 3): string => (x === null ? '—' : x.toFixed(digits));

/** A table of rows (one per cell type); clicking a row (or Enter on it) selects its cell type. */
function table(id: string, caption: string, head: readonly string[], rows: readonly { type: string; cells: readonly { text: string; colour?: string }[] }[]): HTMLElement {
  const wrap = document.createElement('div');
  wrap.className = 'an-table';
  const t = document.createElement('table');
  t.id = id;
  const c = t.createCaption();
  c.textContent = caption;
  const hr = t.createTHead().insertRow();
  for (const h of head) {
    const th = document.createElement('th');
    th.scope = 'col';
    th.textContent = h;
    hr.append(th);
  }
  const body = t.createTBody();
  for (const r of rows) {
    const tr = body.insertRow();
    tr.dataset.type = r.type;
    tr.tabIndex = 0;
    const th = document.createElement('th');
    th.scope = 'row';
    th.textContent = r.type;
    tr.append(th);
    for (const cell of r.cells) {
      const td = tr.insertCell();
      td.textContent = cell.text;
      if (cell.colour) td.style.background = cell.colour;
    }
    const pick = (): void => selectAnalysisType(r.type);
    tr.addEventListener('click', pick);
    tr.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') pick();
    });
  }
  wrap.append(t);
  return wrap;
}

/** A value in [-1, 1] on the maps' diverging scale (light enough for black text in the middle). */
const divergingCell = (x: number): string => lutHex(DIVERGING, colourIndex(Math.max(-0.75, Math.min(0.75, x * 0.75)), -1, 1));

function renderAnalyses(): void {
  if (friResult !== null) {
    const { rows, settings } = friResult.result;
    const types = [...new Set(rows.map((r) => r.cell_type))];
    el.friView.replaceChildren(
      table(
        'fri-table',
        `Flash response index of ${friResult.model} (central cells; > 0 prefers ON, < 0 OFF; dt ${settings.dt} s)`,
        ['Cell type', ...settings.radii.map((r) => (r === -1 ? 'FRI, full field' : `FRI, radius ${r}`))],
        types.map((type) => ({
          type,
          cells: settings.radii.map((radius) => {
            const x = rows.find((r) => r.cell_type === type && r.radius === radius)!.fri;
            return { text: fmt(x), colour: divergingCell(x) };
          }),
        })),
      ),
    );
  }
  if (dsiResult !== null) {
    const { dsi, settings } = dsiResult.result;
    const types = [...new Set(dsi.map((r) => r.cell_type))];
    const of = (type: string, intensity: number) => dsi.find((r) => r.cell_type === type && r.intensity === intensity)!;
    el.dsiView.replaceChildren(
      table(
        'dsi-table',
        `Direction selectivity of ${dsiResult.model} (moving edges at ${settings.speeds.join(', ')} columns/s; preferred direction where DSI ≥ 0.01)`,
        ['Cell type', 'DSI, ON edges', 'preferred (°)', 'DSI, OFF edges', 'preferred (°)'],
        types.map((type) => ({
          type,
          cells: [1, 0].flatMap((i) => {
            const r = of(type, i);
            return [{ text: fmt(r.dsi), colour: divergingCell(Math.min(1, r.dsi)) }, { text: r.preferred_direction_deg === null ? '—' : r.preferred_direction_deg.toFixed(0) }];
          }),
        })),
      ),
    );
  }
  renderTuning();
}

let tuningType: string | null = null;

function selectAnalysisType(type: string): void {
  tuningType = type;
  for (const tr of document.querySelectorAll<HTMLElement>('#an-results tr[data-type]')) tr.classList.toggle('selected', tr.dataset.type === type);
  const view = mapViews.find((m) => m.type === type);
  if (view) showConnectivity(type);
  renderTuning();
}

/** The selected cell type's tuning to the edges' direction, ON and OFF, as a polar plot (SVG). */
function renderTuning(): void {
  if (dsiResult === null) return;
  const type = tuningType ?? selectedType ?? 'T4a';
  const rows = dsiResult.result.tuning.filter((r) => r.cell_type === type);
  if (rows.length === 0) return;
  const size = 220;
  const c = size / 2;
  const R = c - 24;
  const max = Math.max(1e-12, ...rows.map((r) => r.peak_response));
  const parts: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" role="img" aria-label="${type}: peak response against edge direction">`];
  for (const f of [0.5, 1]) parts.push(`<circle cx="${c}" cy="${c}" r="${R * f}" fill="none" stroke="#ccc"/>`);
  for (const a of [0, 90, 180, 270]) {
    const x = c + (R + 12) * Math.cos((a * Math.PI) / 180);
    const y = c - (R + 12) * Math.sin((a * Math.PI) / 180);
    parts.push(`<text x="${x.toFixed(1)}" y="${(y + 4).toFixed(1)}" font-size="10" text-anchor="middle">${a}°</text>`);
  }
  const series: [number, string, string][] = [[1, '#E69F00', 'ON'], [0, '#0072B2', 'OFF']];
  for (const [intensity, colour, name] of series) {
    const pts = rows.filter((r) => r.intensity === intensity).sort((a, b) => a.angle - b.angle);
    const xy = pts.map((r) => {
      const rr = (R * r.peak_response) / max;
      return `${(c + rr * Math.cos((r.angle * Math.PI) / 180)).toFixed(1)},${(c - rr * Math.sin((r.angle * Math.PI) / 180)).toFixed(1)}`;
    });
    parts.push(`<polygon points="${xy.join(' ')}" fill="${colour}" fill-opacity="0.15" stroke="${colour}" stroke-width="2" data-intensity="${name}"/>`);
  }
  parts.push(`<text x="4" y="12" font-size="10" fill="#E69F00">ON edges</text><text x="4" y="24" font-size="10" fill="#0072B2">OFF edges</text></svg>`);
  el.tuning.innerHTML = parts.join('');
  el.tuningCaption.textContent = `${type}: peak response (rectified, central cell) against the edges' direction, averaged over speeds; outer ring ${max.toPrecision(3)}.`;
  el.tuningView.hidden = false;
}

// -- SVG export --------------------------------------------------------------------------------

/** The maps (as drawn now) and the traces as an SVG document. */
function currentSvg(): string {
  draw();
  const n = info!;
  const a = lastActivity.length > 0 ? lastActivity : baseline;
  const maps = mapViews.map((m) => {
    const r = mapRange(m);
    const layer = n.layers[n.cellTypes.indexOf(m.type)]!;
    return {
      type: m.type,
      range: `±${m.maxAbs.toPrecision(2)}`,
      cells: Array.from(layer.index, (node, i) => ({ u: layer.u[i]!, v: layer.v[i]!, fill: lutHex(DIVERGING, colourIndex(a[node]! - baseline[node]!, -r, r)) })),
    };
  });
  const traces = chosen.flatMap((c, i) => {
    const node = nodeOf(c);
    if (node < 0) return [];
    return [{ label: `${c.type} (${c.u}, ${c.v})`, colour: LINE_COLOURS[i % LINE_COLOURS.length]!, values: Float32Array.from({ length: recordedFrames }, (_, t) => activityAt(t, node) - baseline[node]!) }];
  });
  return viewSvg({
    title: `flyvis explorer: ${model}, ${el.stim.selectedOptions[0]?.textContent ?? el.stim.value}, frame ${recordedFrames} of ${frames} (t = ${(recordedFrames * n.dt).toFixed(2)} s)`,
    maps,
    mapSize: MAP_SIZE,
    extent: EXTENT,
    columns: 12,
    traces,
    frames,
    dt: n.dt,
    scale: Array.from({ length: 256 }, (_, k) => lutHex(DIVERGING, k)),
    scaleLabels: [el.legendLo.textContent ?? '', '0', el.legendHi.textContent ?? ''],
    caption: el.legendText.textContent ?? '',
  });
}

el.exportSvg.addEventListener('click', () => {
  if (info === null) return;
  download(new Blob([currentSvg()], { type: 'image/svg+xml' }), `flyvis-view-frame-${recordedFrames}.svg`);
});

/** Shows the controls of the chosen kind of stimulus (data-kinds lists the kinds a control is for). */
function showKindControls(): void {
  for (const e of document.querySelectorAll<HTMLElement>('[data-kinds]')) e.hidden = !(e.dataset.kinds ?? '').split(' ').includes(el.stim.value);
  document.body.classList.toggle('draw-mode', el.stim.value === 'drawn');
  document.body.classList.toggle('dot-mode', el.stim.value === 'dots');
}
el.rate.addEventListener('change', () => {
  clock = { at: performance.now(), frame: recordedFrames };
  writeUrl();
});
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
  if (recordedFrames < computed) show(recordedFrames + 1); // computed ahead during playback
  else {
    stepAsked = true;
    requestFrames(1);
  }
});
el.restart.addEventListener('click', newStimulus);

function changeRate(by: number): void {
  const i = RATES.indexOf(el.rate.value);
  el.rate.value = RATES[Math.max(0, Math.min(RATES.length - 1, i + by))]!;
  clock = { at: performance.now(), frame: recordedFrames };
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
send({
  type: 'init',
  wasmUrl: new URL('flyvis-kernels.wasm', document.baseURI).href,
  connectomeUrl: new URL('fib25-fib19_v2.2.json', document.baseURI).href,
  ...(askedBackend !== undefined ? { backend: askedBackend } : {}),
});
requestAnimationFrame(animate);

/** For the browser test: what the page computed and drew. */
const testApi = {
  status: () => ({ ready: info !== null, backend: activeBackend ?? info?.backend ?? null, backends: backendReports, backendChosenBy, analysisRunning, nodes: info?.nodes ?? 0, frames, recordedFrames, playing, errors, model, selectedType, optimal: optimal === null ? null : { mode: optimal.mode, cellType: optimal.cellType, initialCentral: optimal.initialCentral, finalCentral: optimal.finalCentral, iterations: optimal.iterations, natural: optimal.natural ?? null, firstLoss: optimal.firstLoss ?? null, finalLoss: optimal.finalLoss ?? null }, message: el.message.textContent ?? '', frameRate: frameRate(), playedFps, msPerFrame: computed > 0 ? simMs / computed : NaN, url: location.search }),
  /** Every recorded frame's activity, (frames, nodes) float32, as base64. */
  activityBase64: (): string => base64(allActivity()),
  /** Every recorded frame's stimulus, (frames, hexals) float32, as base64. */
  stimulusBase64: (): string => base64(concat(recordedStimulus)),
  /** The drawing (hexal, intensity) in the order painted. */
  drawing: (): [number, number][] => [...drawing],
  /** The latest FRI and DSI results (null before they are run). */
  analyses: () => ({ fri: friResult, dsi: dsiResult }),
  /** The SVG export of the current view (what the button downloads). */
  svg: (): string => currentSvg(),
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
