// flyvis's network parameters out of a checkpoint read by readTorchFile.
import { TorchDict, TorchFileError, TorchTensor, type TorchValue } from './values.ts';

/**
 * The network parameters of a checkpoint, by their flyvis state_dict names (nodes_bias,
 * nodes_time_const, edges_sign, edges_syn_count, edges_syn_strength, ...), as Float32Array in
 * the file's order. Accepts a plain state_dict (name -> tensor) or flyvis's checkpoint dict,
 * whose `network` entry is the state_dict (v0.1.0's best_chkpt: network, decoder,
 * validation_loss; 1.x's chkpt_NNNNN: network, decoder, optim, time, val_loss, iteration, dt).
 * Floating-point tensors of any precision are converted to float32, as load_state_dict copies
 * into flyvis's float32 parameters; any other entry is an error naming it.
 */
export function stateDictFromTorch(value: TorchValue, name = 'checkpoint'): Record<string, Float32Array> {
  const fail = (problem: string): never => {
    throw new TorchFileError(name, problem);
  };
  if (!(value instanceof TorchDict)) {
    return fail('expected a state_dict (a dict of tensors) or a flyvis checkpoint dict with a "network" entry');
  }
  const network = value.get('network');
  let sd: TorchDict;
  let where: string;
  if (network !== undefined) {
    if (!(network instanceof TorchDict)) return fail('the "network" entry is not a dict (expected the network state_dict)');
    sd = network;
    where = 'network';
  } else {
    sd = value;
    where = 'state_dict';
  }
  if (sd.size === 0) fail(`${where} holds no parameters`);
  const out: Record<string, Float32Array> = {};
  for (const [k, v] of sd) {
    if (typeof k !== 'string') {
      return fail(
        network === undefined
          ? `expected a state_dict (string keys) or a flyvis checkpoint with a "network" entry; found key ${String(k)}`
          : `network state_dict has a non-string key ${String(k)}`,
      );
    }
    if (!(v instanceof TorchTensor)) {
      return fail(
        network === undefined
          ? `expected a state_dict (name -> tensor) or a flyvis checkpoint with a "network" entry; "${k}" is not a tensor`
          : `network state_dict entry "${k}" is not a tensor`,
      );
    }
    if (v.data instanceof Float32Array) out[k] = v.data;
    else if (v.data instanceof Float64Array) out[k] = Float32Array.from(v.data);
    else fail(`${where} entry "${k}" is a ${v.dtype} tensor, expected floating point`);
  }
  return out;
}
