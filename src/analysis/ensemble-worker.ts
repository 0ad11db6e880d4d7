// The worker thread of runEnsemblePool (src/analysis/ensemble.ts): analyses one ensemble member
// at a time. For each `{ type: 'member', index, dir }` it loads the member's network directory
// (the network built from its own _meta.yaml config, its best checkpoint loaded; a network of the
// same config is reused, as flyvis's yield_networks does), simulates the job's stimuli from the
// grey steady state (through the network's asynchronous methods: any backend the job names,
// webgpu included, Dawn started in this thread) and posts the result rows back; progress as
// simulated sample-frames. An error is posted with its class name (ResultsError, AnalysisError,
// ...) so the caller can tell bad input from a failure. The job (workerData) is an EnsembleJob.
import { parentPort, workerData } from 'node:worker_threads';
import '../budget-env.ts';
import { setBudget } from '../budget.ts';
import { loadNetworkDir } from '../results/network-dir.ts';
import type { Network } from '../network/network.ts';
import { Flashes, MovingEdge, type StimulusDataset } from '../stimuli/datasets.ts';
import { directionSelectivityIndex } from './dsi.ts';
import type { EnsembleJob, MemberResult, WorkerMessage } from './ensemble.ts';
import { flashResponseIndex } from './fri.ts';
import { computeResponsesAsync } from './responses.ts';
import { prepareKernel } from '../cli/webgpu.ts';

if (parentPort === null) throw new Error('ensemble-worker.ts runs as a worker thread (runEnsemblePool)');
const port = parentPort;
const job = workerData as EnsembleJob;
if (job.budget !== undefined) setBudget(job.budget);
const post = (m: WorkerMessage): void => port.postMessage(m);

let reuse: Network | undefined;

async function analyse(index: number, dir: string): Promise<MemberResult> {
  post({ type: 'status', index, text: 'loading the network' });
  await prepareKernel(job.kernel);
  const loaded = await loadNetworkDir(dir, {
    ...(job.extent !== undefined ? { extent: job.extent } : {}),
    ...(reuse ? { reuse } : {}),
    ...(job.kernel !== undefined ? { networkOptions: { kernel: job.kernel } } : {}),
  });
  const net = loaded.network;
  reuse = net;
  // The lattice extent, from the number of receptor hexals (3e^2 + 3e + 1).
  const extent = Math.round((-3 + Math.sqrt(9 - 12 * (1 - net.stimulus.nInputElements))) / 6);
  if (3 * extent * extent + 3 * extent + 1 !== net.stimulus.nInputElements) {
    throw new Error(`${dir}: the network's ${net.stimulus.nInputElements} input hexals are no hexagonal lattice`);
  }
  const dataset: StimulusDataset =
    job.kind === 'flashes'
      ? new Flashes({ extent, dt: job.dt })
      : new MovingEdge({ extent, dt: job.dt, ...(job.speeds ? { speeds: [...job.speeds] } : {}), ...(job.angles ? { angles: [...job.angles] } : {}) });
  const responses = await computeResponsesAsync(net, dataset, {
    dt: job.dt,
    batchSize: job.batchSize,
    progress: {
      tick: (n) => post({ type: 'tick', n }),
      done: () => {},
      status: (text) => post({ type: 'status', index, text }),
    },
  });
  const base = {
    index,
    name: loaded.name,
    checkpoint: loaded.checkpointFile,
    validation_loss: loaded.validationLoss,
    config_changes: loaded.configChanges,
    extent,
    n_cell_types: net.connectome.uniqueCellTypes.length,
    cell_types: [...net.connectome.uniqueCellTypes],
  };
  if (job.kind === 'flashes') return { ...base, fri: flashResponseIndex(responses) };
  const { dsi, tuning } = directionSelectivityIndex(responses, { threshold: job.threshold });
  return { ...base, dsi, tuning };
}

port.on('message', (m: { type: 'member'; index: number; dir: string }) => {
  if (m.type !== 'member') return;
  analyse(m.index, m.dir).then(
    (result) => post({ type: 'result', result }),
    (e: unknown) => {
      const err = e instanceof Error ? e : new Error(String(e));
      post({ type: 'error', index: m.index, name: err.name, message: err.message.split('\n')[0] ?? '' });
    },
  );
});
