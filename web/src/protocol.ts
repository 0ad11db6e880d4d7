// Messages between the page (web/src/main.ts) and the simulation worker (web/src/worker.ts).
import type { AnalysisResult, AnalysisSettings, EngineName, EngineReport, Link, StimulusSpec } from './spec.ts';

export type { EngineName, EngineReport, AnalysisResult, AnalysisSettings };

/** What the page needs to draw the network: per cell type its nodes and their lattice coordinates. */
export interface NetworkInfo {
  readonly backend: string;
  readonly nodes: number;
  readonly cellTypes: readonly string[];
  readonly inputTypes: readonly string[];
  readonly outputTypes: readonly string[];
  /** Per cell type (in cellTypes order): node indices and their u, v. */
  readonly layers: readonly { readonly index: Int32Array; readonly u: Int32Array; readonly v: Int32Array }[];
  /** The receptor lattice (stimulus hexals in order). */
  readonly hexU: Int32Array;
  readonly hexV: Int32Array;
  readonly dt: number;
  /** Per cell type, its central cell's inputs and outputs in the connectome (largest first). */
  readonly inputs: Readonly<Record<string, readonly Link[]>>;
  readonly outputs: Readonly<Record<string, readonly Link[]>>;
}

export type ToWorker =
  /** `backend`: use this backend when the probe finds it correct (the URL's choice); else the probe's fastest. */
  | { readonly type: 'init'; readonly wasmUrl: string; readonly connectomeUrl: string; readonly backend?: string }
  | { readonly type: 'stimulus'; readonly spec: StimulusSpec }
  | { readonly type: 'step'; readonly frames: number }
  /** A checkpoint's bytes (a flyvis torch file or state_dict JSON), kept under `name` and used. */
  | { readonly type: 'checkpoint'; readonly name: string; readonly bytes: ArrayBuffer }
  /** Use a model loaded before (DEFAULT_MODEL: the network's initial parameters). */
  | { readonly type: 'model'; readonly name: string }
  /** An uploaded movie (.npy bytes), kept under `name` for a stimulus { kind: 'movie', name }. */
  | { readonly type: 'movie'; readonly name: string; readonly bytes: ArrayBuffer }
  /**
   * An optimal stimulus for a cell type's central cell: 'artificial' (flyvis's
   * artificial_optimal_stimuli, src/analysis/optimal-stimulus.ts: gradient ascent from noise), or
   * 'regularized' (flyvis's regularized_optimal_stimuli, src/analysis/optimal-stimulus-natural.ts:
   * the most exciting of the library's procedural naturalistic scenes, `scenes` of them with
   * AugmentedSintel's flips and rotations, then pulled to grey keeping the central response).
   */
  | {
      readonly type: 'optimal';
      readonly mode?: 'artificial' | 'regularized';
      readonly cellType: string;
      readonly iterations: number;
      readonly lr: number;
      readonly weightMei: number;
      readonly scenes?: number;
      readonly l2Stim?: number;
    }
  /** Simulate on this backend from now on (the current stimulus restarts). */
  | { readonly type: 'backend'; readonly name: EngineName }
  /** Run an analysis of the current model (FRI or DSI); progress and the result come back. */
  | { readonly type: 'analysis'; readonly settings: AnalysisSettings }
  /** Stop the running analysis after its current batch (handled at once, not queued). */
  | { readonly type: 'cancel-analysis' }
  /** A flyvis network directory: a zip's bytes, or a dropped folder's files; its best checkpoint becomes a model. */
  | { readonly type: 'results'; readonly name: string; readonly zip?: ArrayBuffer; readonly files?: readonly { readonly path: string; readonly bytes: ArrayBuffer }[] };

export type FromWorker =
  | { readonly type: 'ready'; readonly info: NetworkInfo }
  | { readonly type: 'stimulus'; readonly frames: number; readonly hexals: number; readonly baseline: Float32Array; readonly backend: string }
  | { readonly type: 'frames'; readonly first: number; readonly count: number; readonly activity: Float32Array; readonly stimulus: Float32Array; readonly ms: number }
  /** The model in use (and every loaded one); `detail`: where a results directory's checkpoint came from. */
  | { readonly type: 'model'; readonly name: string; readonly models: readonly string[]; readonly detail?: string }
  /** A checkpoint that could not be loaded (the model in use is unchanged). */
  | { readonly type: 'checkpoint-error'; readonly name: string; readonly message: string }
  | { readonly type: 'movie'; readonly name: string; readonly frames: number }
  | { readonly type: 'movie-error'; readonly name: string; readonly message: string }
  /** Progress: an iteration and its loss, or (regularized) the natural search's movies searched. */
  | { readonly type: 'optimal-progress'; readonly iteration: number; readonly loss: number; readonly searched?: readonly [number, number] }
  | {
      readonly type: 'optimal';
      readonly mode: 'artificial' | 'regularized';
      readonly cellType: string;
      readonly frames: number;
      /** The stimulus (frames, hexals); the frame to show. */
      readonly stimulus: Float32Array;
      readonly showFrame: number;
      /** artificial: the central response to the initial noise and to the result; regularized: the natural and regularised movies' peak central responses. */
      readonly initialCentral: number;
      readonly finalCentral: number;
      readonly losses: Float32Array;
      readonly ms: number;
      /** regularized: the natural optimum (movie index among `movies`, peak and its frame) and the loss's terms before and after. */
      readonly natural?: { readonly index: number; readonly movies: number; readonly peak: number; readonly frame: number; readonly item: number; readonly flipAxis: number; readonly rotation: number };
      readonly firstLoss?: { readonly loss: number; readonly act: number; readonly stim: number };
      readonly finalLoss?: { readonly loss: number; readonly act: number; readonly stim: number };
    }
  /**
   * The backends the probe found (each with its agreement with wasm and speed), the one in use,
   * and why: 'probe' (fastest correct), 'url' (asked for in the URL) or 'user'.
   */
  | { readonly type: 'backends'; readonly reports: readonly EngineReport[]; readonly active: EngineName; readonly chosenBy: 'probe' | 'url' | 'user' }
  | { readonly type: 'backend-error'; readonly name: string; readonly message: string }
  | { readonly type: 'analysis-progress'; readonly kind: 'fri' | 'dsi'; readonly done: number; readonly total: number }
  | { readonly type: 'analysis'; readonly result: AnalysisResult; readonly model: string; readonly ms: number }
  /** An analysis that failed or was cancelled (cancelled: stopped on request). */
  | { readonly type: 'analysis-error'; readonly kind: 'fri' | 'dsi'; readonly message: string; readonly cancelled: boolean }
  | { readonly type: 'error'; readonly message: string };

/** The name of the network's own initial parameters in the model list. */
export const DEFAULT_MODEL = 'flyvis default (initial parameters)';
