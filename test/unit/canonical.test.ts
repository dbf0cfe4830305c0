// The canonical time form: the fast path that keeps an already-canonical time as it is
// must agree with the Date round trip for every time, canonical or not.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isoTime } from '../../shared/canonical.js';

describe('isoTime', () => {
  it('agrees with Date#toISOString for any instant, as a string or a Date', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true }), (d) => {
        const iso = d.toISOString();
        expect(isoTime(iso)).toBe(iso);
        expect(isoTime(d)).toBe(iso);
      }),
      { numRuns: 20_000 },
    );
  });

  it('normalises other spellings of a time (offsets, precision, rolled-over days) through Date', () => {
    for (const value of ['2026-11-21T10:00:00+02:00', '2026-11-21T08:00:00Z', '2026-11-21T08:00:00.5Z', '2026-02-30T00:00:00.000Z', '2026-11-21T08:00:00.123456Z']) {
      expect(isoTime(value)).toBe(new Date(value).toISOString());
    }
  });
});
