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
export { cleanText, decodeMarkup, formatConversation } from './format.ts';
export { parseConversation, parseMaskId } from './parse.ts';
export { JsonArrayWriter } from './writer.ts';
