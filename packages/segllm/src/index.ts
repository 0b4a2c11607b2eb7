/** @segllm/core: the SegLLM model, its multi-round session API, and release-checkpoint loading. */
export * from './errors.ts';
export * from './conversation/index.ts';
export { parseSegLLMConfig, imageSlots, SegLLMConfigError, type SegLLMConfig } from './model/config.ts';
export { SegLLMForSegmentation, SegLLMBody, VisionTower, ClipTowerHolder, Segmentator } from './model/modeling.ts';
export type { MaskDecoder, DecoderFeatures, Detection } from './model/decoder.ts';
export { tinySegLLMConfig, tinySegLLMConfigJson, type TinyOptions } from './model/tiny.ts';
export { bundledTokenizer, bundledTokenizerJson, BUNDLED_TOKENIZER_URL } from './model/bundled.ts';
export { ChatSession, type AskOptions, type RoundResult, type HistoryEntry, type ChatContext } from './session/chat.ts';
export { maskToOriginal, boxToOriginal } from './session/frame.ts';
export { SegLLM, type ImageInput, type EvalRound } from './segllm.ts';
export { HipieDecoder, hipieRename } from './model/hipie.ts';
export { TINY_HIPIE } from './model/tiny.ts';
export { DirReplaceError, recoverReplacedDir, replaceDirAtomically, type ReplaceDirOptions } from './replace.ts';
export { loadSegLLM, saveSegLLM, isReleaseLayout, defaultDecoder, UNUSED_KEYS, type SegLLMLoadOptions, type SegLLMLoadReport, type LoadProgress, type SaveOptions } from './checkpoint.ts';
export { checkpointFiles, type CheckpointFiles, type CheckpointSource } from './files.ts';
export { EmptyMaskError, groundTruthBox, groundTruthMaskPixels, maskExtent } from './train/encodings.ts';
