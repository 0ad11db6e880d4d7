// flyvis's task layer (flyvis/task): the DecoderGAVP decoder, its hex-masked convolution and batch
// normalisation as differentiable ops, and the objectives. Platform-neutral (no file access:
// src/task/decoder-source.ts reads decoders from files, for the command line).
export {
  BATCH_NORM_EPS, BATCH_NORM_MOMENTUM, batchNorm2d, batchStats, type BatchNorm2dOptions, type BatchNorm2dResult, type BatchNormStats,
} from './batch-norm.ts';
export { conv2dHex, hexKernelMask, type Conv2dHexOptions } from './conv2d-hex.ts';
export {
  FLOW_DECODER_CONFIG, decode, decoderConfigFrom, decoderGAVP, decoderParamsFromStateDict, decoderStateDict, decoderTrainable, filterToHex,
  flowDecoderConfigOf, initDecoder, initDecoderParams, requireOutputChannels,
  type DecodeOptions, type DecodeResult, type DecoderGAVP, type DecoderGAVPConfig, type DecoderLayer, type DecoderParams, type InitDecoderOptions,
} from './decoder.ts';
export { DecoderError, gatherOrZero, hexMapGeometry, type HexMapGeometry } from './hex-map.ts';
export { OBJECTIVES, epe, l2norm } from './objectives.ts';
