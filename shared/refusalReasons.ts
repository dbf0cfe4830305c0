// Machine-readable reasons a server gives with some refusals (in the error's data, beside
// the code), for clients that act on the reason rather than show the message.
export const REFUSAL_REASONS = {
  /** An inclusion proof for an event retention removed: its leaf stays in the tree. */
  removedByRetention: 'removed_by_retention',
} as const;

export type RefusalReason = (typeof REFUSAL_REASONS)[keyof typeof REFUSAL_REASONS];
