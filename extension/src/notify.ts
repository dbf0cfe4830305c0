// Creating desktop notifications, for the background and the options page's test button.
// Plain "basic" notifications without buttons: the same on Chrome and Firefox (Firefox
// has no notification buttons).
import { browser } from './platform.js';
import { TEST_NOTIFICATION_ID, type PlannedNotification } from './notifyPlan.js';
import { NOTIFICATION_TEXT } from './wording.js';

const ICON = 'icons/vigil-128.png';

/** Creates (or, for an id already showing, replaces) one notification. */
export async function showNotification(n: Omit<PlannedNotification, 'eventTime'> & { eventTime?: number }): Promise<void> {
  await browser.notifications.create(n.id, {
    type: 'basic',
    iconUrl: browser.runtime.getURL(ICON),
    title: n.title,
    message: n.message,
    ...(n.eventTime !== undefined ? { eventTime: n.eventTime } : {}),
  });
}

/** The options page's "Send test notification": says what the rules would notify of. */
export function showTestNotification(rulesQuery: string | null): Promise<void> {
  return showNotification({
    id: TEST_NOTIFICATION_ID,
    title: NOTIFICATION_TEXT.testTitle,
    message: NOTIFICATION_TEXT.testMessage(rulesQuery),
  });
}
