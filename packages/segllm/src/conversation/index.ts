export { SEGLLM_TEMPLATE, type ConversationTemplate } from './template.ts';
export { parseRound, humanMessage, renderRound, renderConversation, type RoundInput } from './rounds.ts';
export { layoutSlots, SlotMismatchError, type Slot, type SlotLayout } from './slots.ts';
