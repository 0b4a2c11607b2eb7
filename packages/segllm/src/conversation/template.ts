/**
 * The conversation template as data: Vicuna-v1 (sep style TWO) with SegLLM's system prompt, exactly as the
 * released code renders it (segllm-reference.md 2.2). Every segmentation round is `USER: <message> ASSISTANT:
 * <seg></s>`; the first message carries 256 `<video>` image slots, and each reference puts a `<video><video>` pair
 * (mask encoding, box encoding) before the text.
 */

export interface ConversationTemplate {
  system: string;
  roles: readonly [string, string];
  sep: string;
  sep2: string;
  /** The placeholder token every injected embedding occupies. */
  slotToken: string;
  /** The segmentation output token (one per round). */
  segToken: string;
  /** Image patch slots in the first round (CLIP-L/14 at 224: 16 x 16). */
  imageSlots: number;
}

export const SEGLLM_TEMPLATE: ConversationTemplate = {
  system:
    "A chat between a curious user and an artificial intelligence assistant. The assistant gives helpful, detailed, and polite answers to the user's questions.",
  roles: ['USER', 'ASSISTANT'],
  sep: ' ',
  sep2: '</s>',
  slotToken: '<video>',
  segToken: '<seg>',
  imageSlots: 256,
};
