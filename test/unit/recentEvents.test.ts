// Only what just happened alerts: an event recorded long after it happened (a backfill, an
// import) is new to the log but not news.
import { describe, expect, it } from 'vitest';
import { isRecentEvent, RECENT_WINDOW_MS } from '../../extension/src/notifyPlan.js';

const at = (time: string, recordedAt: string) => ({ time, recordedAt });

describe('recent events', () => {
  it('alerts for events recorded within the window of when they happened', () => {
    expect(isRecentEvent(at('2026-12-02T10:00:00.000Z', '2026-12-02T10:00:00.150Z'))).toBe(true);
    expect(isRecentEvent(at('2026-12-02T10:00:00.000Z', '2026-12-02T10:09:59.999Z'))).toBe(true);
    // A clock a little ahead of the server's: still news.
    expect(isRecentEvent(at('2026-12-02T10:00:05.000Z', '2026-12-02T10:00:00.000Z'))).toBe(true);
  });
  it('does not alert for backfilled history', () => {
    expect(isRecentEvent(at('2026-12-02T10:00:00.000Z', '2026-12-02T10:10:00.001Z'))).toBe(false);
    expect(isRecentEvent(at('2026-12-01T08:00:00.000Z', '2026-12-02T10:00:00.000Z'))).toBe(false);
    expect(RECENT_WINDOW_MS).toBe(600_000);
    expect(isRecentEvent(at('2026-12-02T10:00:00.000Z', '2026-12-02T10:00:02.000Z'), 1000)).toBe(false);
  });
});
