// Node edge: a trained flow decoder from where flyvis keeps it, for `flyvis predict-flow`: a
// torch checkpoint (flyvis's dict whose `decoder` entry holds `{flow: state_dict}`) or a flyvis
// network directory (its best checkpoint, by flyvis's rule, and the decoder config of its
// `_meta.yaml`: 1.x's task.decoder.flow, 0.1's task_decoder). Bad sources are refused in one line
// naming the file: no decoder, a decoder of another architecture or shape, a malformed config.
import { closeSync, openSync, readSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Connectome } from '../graph/types.ts';
import { isEnsembleDir, pathKind } from '../results/meta.ts';
import { type CheckpointChoice, readCheckpointFile, resolveNetworkDir } from '../results/network-dir.ts';
import { ResultsError } from '../results/rules.ts';
import {
  FLOW_DECODER_CONFIG, type DecoderGAVP, type DecoderParams, decoderConfigFrom, decoderGAVP, decoderParamsFromStateDict, flowDecoderConfigOf,
} from './decoder.ts';
import { DecoderError } from './hex-map.ts';

/** Whether a file starts with the zip signature of torch.save files (unreadable files: false). */
function isZipFile(file: string): boolean {
  try {
    const fd = openSync(file, 'r');
    try {
      const b = new Uint8Array(4);
      return readSync(fd, b, 0, 4, 0) === 4 && b[0] === 0x50 && b[1] === 0x4b && b[2] === 0x03 && b[3] === 0x04;
    } finally {
      closeSync(fd);
    }
  } catch {
    return false;
  }
}

export interface FlowDecoderSource {
  /** The checkpoint file the decoder was read from. */
  readonly file: string;
  /** Where its config came from: the network directory's _meta.yaml, or flyvis's default task config. */
  readonly configFrom: string;
  readonly decoder: DecoderGAVP;
  readonly params: DecoderParams;
}

/**
 * Reads the flow decoder of `path` (a torch checkpoint or a flyvis network directory) for a
 * network on `connectome`, checked as torch's load_state_dict(strict=True) would check it against
 * the decoder of the config: its names and shapes (the output cell types of the connectome are the
 * input channels; the map follows the connectome's extent), and 2 output channels per hexal.
 * Throws ResultsError or DecoderError naming the file; TorchFileError for a damaged file.
 */
export async function loadFlowDecoder(path: string, connectome: Connectome, options: { checkpoint?: CheckpointChoice } = {}): Promise<FlowDecoderSource> {
  const p = resolve(path);
  const kind = pathKind(p);
  if (kind === 'missing') throw new ResultsError(p, 'no such file or directory (expected a flyvis checkpoint or network directory with a flow decoder)');
  let file = p;
  let config: unknown = FLOW_DECODER_CONFIG;
  let configFrom = "flyvis's task config (decoder.flow; a checkpoint file carries none)";
  if (kind === 'dir') {
    if (isEnsembleDir(p)) throw new ResultsError(p, 'is an ensemble directory: name one of its networks (e.g. its 0000 folder)');
    const info = await resolveNetworkDir(p, options);
    file = info.checkpointFile;
    const own = flowDecoderConfigOf(info.config);
    if (own !== undefined) {
      config = own;
      configFrom = info.metaFile;
    } else {
      configFrom = `flyvis's task config (decoder.flow; ${info.metaFile} names none)`;
    }
  } else if (!isZipFile(p)) {
    throw new ResultsError(p, 'is not a torch checkpoint, so it holds no flow decoder (a state_dict JSON has network parameters only); give a flyvis checkpoint (network + decoder.flow) or network directory');
  }
  const checked = decoderConfigFrom(config, configFrom);
  let decoder: DecoderGAVP;
  try {
    decoder = decoderGAVP(checked, connectome);
  } catch (e) {
    if (!(e instanceof DecoderError)) throw e;
    throw new DecoderError(`the network's connectome cannot feed flyvis's decoder: ${e.message}`, { cause: e });
  }
  if (decoder.outChannels !== 2 || decoder.config.n_out_features !== null) {
    throw new DecoderError(`${configFrom}: the decoder config gives ${decoder.outChannels} output channels${decoder.config.n_out_features === null ? '' : ' pooled to features'}, expected 2 per hexal (flow)`);
  }
  const { decoder: states } = readCheckpointFile(file);
  const flow = states?.flow;
  if (flow === undefined) {
    const has = states === undefined ? 'no decoder entry' : `decoders for ${Object.keys(states).join(', ') || 'no task'} only`;
    throw new ResultsError(file, `holds no flow decoder (${has}; flyvis keeps it as decoder.flow in its training checkpoints)`);
  }
  try {
    return { file, configFrom, decoder, params: decoderParamsFromStateDict(decoder, flow, { where: 'decoder.flow' }) };
  } catch (e) {
    if (!(e instanceof DecoderError)) throw e;
    const types = decoder.geometry.cellTypes.length;
    throw new DecoderError(`${file}: ${e.message} (the decoder reads the ${types} output cell types of the connectome)`, { cause: e });
  }
}
