// What the pages tell the background (runtime.sendMessage, which also wakes it). Only the
// background keeps the unseen count and paints the toolbar badge; pages ask it to.
import { browser } from './platform.js';

/** The popup has shown the log: the count of unseen events starts again. */
export const SEEN_MESSAGE = 'vigil:seen';
/** A page learned something about the connection (a problem, or that it is fixed): sync and repaint. */
export const SYNC_MESSAGE = 'vigil:sync';

export type BackgroundMessage = { type: typeof SEEN_MESSAGE } | { type: typeof SYNC_MESSAGE };

export function isBackgroundMessage(message: unknown): message is BackgroundMessage {
  const type = (message as { type?: unknown } | null)?.type;
  return type === SEEN_MESSAGE || type === SYNC_MESSAGE;
}

/** Tells the background; answers once it has handled the message. */
export async function tellBackground(message: BackgroundMessage): Promise<void> {
  await browser.runtime.sendMessage(message);
}
