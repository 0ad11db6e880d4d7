// PyTorch checkpoint files (torch.save's zip format) without Python: docs/torch-files.md.
export {
  TorchDict,
  TorchFileError,
  TorchSet,
  TorchTensor,
  TorchTuple,
  type TorchDtype,
  type TorchTensorData,
  type TorchValue,
  type TorchWritable,
} from './values.ts';
export { ALLOWED_GLOBALS, readTorchFile } from './reader.ts';
export { writeTorchFile, type WriteTorchOptions } from './writer.ts';
export { stateDictFromTorch } from './state-dict.ts';
export { loadTorchFile, saveTorchFile } from './node.ts';
