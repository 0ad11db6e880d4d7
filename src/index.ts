// flyvis-ts public API. Each concept lives in its own folder; this file re-exports them.
export * from './graph/types.ts';
