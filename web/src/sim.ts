// The explorer's simulation, shared by the page's Web Worker and by the tests in Node: flyvis's
// default network (flyvis's connectome at extent 15, default config) and the stimuli the page
// offers, built from the library's datasets (Flashes, MovingEdge) at dt = 1/50. The network is
// stepped a few frames at a time from the 1 s grey steady state, carrying the state between calls,
// which is what Network.simulate computes for the whole movie at once. Imports only the
// platform-neutral core.
import { ConnectomeFromAvgFilters, Flashes, Gratings, MovingBar, MovingEdge, Network, noGrad, type Frames, type State } from '../../src/core.ts';

import { CONNECTOME, DT, EXTENT, type StimulusSpec } from './spec.ts';

export { CONNECTOME, DT, EXTENT };

/** The stimulus movie (frames, hexals) at dt, from the library's dataset for one item. */
export function stimulusMovie(spec: StimulusSpec, dt = DT): Frames {
  if (spec.kind === 'flash') {
    const d = new Flashes({ extent: EXTENT, dynamicRange: [0, 1], radius: [spec.radius], tPre: spec.tPre, tStim: spec.tStim, dt });
    // items: (intensity, radius) over dynamic_range x radius: index 0 is OFF, 1 is ON
    return d.get(spec.intensity === 1 ? 1 : 0);
  }
  if (spec.kind === 'bar') {
    const d = new MovingBar({ extent: EXTENT, angles: [spec.angle], widths: [spec.width], intensities: [spec.intensity], speeds: [spec.speed], tPre: spec.tPre, tPost: spec.tPost, dt });
    return d.get(0);
  }
  if (spec.kind === 'grating') {
    const d = new Gratings({ extent: EXTENT, angles: [spec.angle], periods: [spec.period], temporalFrequencies: [spec.temporalFrequency], tPre: spec.tPre, tStim: spec.tStim, tPost: 0, dt });
    return d.get(0);
  }
  const d = new MovingEdge({ extent: EXTENT, angles: [spec.angle], intensities: [spec.intensity], speeds: [spec.speed], tPre: spec.tPre, tPost: spec.tPost, dt });
  return d.get(0);
}

/** flyvis's default network at extent 15 on `kernel` (the connectome must be registered or on disk). */
export function defaultNetwork(kernel: string): Network {
  return Network.fromConnectome(ConnectomeFromAvgFilters(CONNECTOME, EXTENT), {}, { kernel });
}

/** Steps a network through a movie a few frames at a time, from the grey steady state. */
export class Stepper {
  private state: State | null;
  private t = 0;
  constructor(
    readonly net: Network,
    readonly movie: Frames,
    readonly dt = DT,
  ) {
    this.state = noGrad(() => net.steadyState(1.0, dt, 1));
  }

  get frame(): number {
    return this.t;
  }

  get frames(): number {
    return this.movie.shape[0];
  }

  /** The next n frames' activity, (n, nodes) row-major, n clipped to the frames left. */
  step(n: number): Float32Array {
    const H = this.movie.shape[1];
    const N = this.net.nNodes;
    const k = Math.max(0, Math.min(n, this.frames - this.t));
    const out = new Float32Array(k * N);
    if (k === 0) return out;
    noGrad(() => {
      this.net.stimulus.zero(1, k);
      this.net.stimulus.addInput({ data: this.movie.data.subarray(this.t * H, (this.t + k) * H), shape: [1, k, 1, H] });
      const states = this.net.forward(this.net.stimulus.call(), this.dt, { state: this.state, asStates: true });
      states.forEach((s, i) => out.set(s.nodes.activity!.data.subarray(0, N), i * N));
      this.state = states[k - 1]!;
    });
    this.t += k;
    return out;
  }
}
