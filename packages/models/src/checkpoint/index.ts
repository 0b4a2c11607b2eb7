export { ConfigError, Fields, asConfigObject, isObject, type JsonObject } from './config.ts';
export {
  CheckpointKeyError, CheckpointNotFoundError, openModelCheckpoint, readConfigJson, choosePrefix, loadCheckpoint,
  type LoadCheckpointOptions, type LoadCheckpointReport,
} from './load.ts';
