export { parseLlavaConfig, type LlavaConfig, type MmProjectorType } from './config.ts';
export { buildProjector, loadProjector, PROJECTOR_KEY_PREFIXES } from './projector.ts';
