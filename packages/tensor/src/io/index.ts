export { SafetensorsError, isSafetensorsError, type SafetensorsErrorCode, type SafetensorsErrorDetails } from './errors.ts';
export { bytesSource, blobSource, fileSource, type ByteSource } from './byte-source.ts';
export { MAX_HEADER_SIZE, ST_DTYPES, type StDtype } from './format.ts';
export {
  SafetensorsFile, openSafetensors, deserializeSafetensors, serializeSafetensors, saveSafetensors,
  type RawTensor, type StoredTensorInfo, type TensorStore, type RawTensorMap, type SafetensorsInput,
} from './safetensors.ts';
export {
  ShardedSafetensors, openShardedSafetensors, openCheckpoint, parseShardIndex, type ShardIndex, type ShardResolver,
} from './sharded.ts';
