export type {
  ConversationJson,
  ConversationSpec,
  ParsedConversation,
  ParsedRound,
  RoundRef,
  RoundSpec,
  Turn,
} from './types.ts';
export { ConversationFormatError } from './errors.ts';
export { BASE_NULL, cleanText, decodeMarkup, formatConversation } from './format.ts';
export { parseConversation, parseMaskId } from './parse.ts';
export { JsonArrayWriter } from './writer.ts';
export type { JsonItem, JsonStreamOptions } from './jsonstream.ts';
export { JsonStreamError, streamJsonItems } from './jsonstream.ts';
