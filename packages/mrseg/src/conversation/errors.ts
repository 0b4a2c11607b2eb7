/** Raised for conversation JSON or bracket markup that does not follow segllm-reference.md section 8.2. */
export class ConversationFormatError extends Error {
  override readonly name = 'ConversationFormatError';
  constructor(
    message: string,
    readonly convId: string | null = null,
    readonly turn: number | null = null,
  ) {
    const where = [convId !== null ? `conversation ${convId}` : null, turn !== null ? `turn ${turn}` : null]
      .filter((x) => x !== null)
      .join(', ');
    super(`${where ? `${where}: ` : ''}${message}`);
  }
}
