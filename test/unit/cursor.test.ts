import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor, type CursorPosition } from '../../shared/cursor.js';

/** Base64url of arbitrary text, as a tamperer would build it. */
function b64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}

const position: CursorPosition = { time: '2026-03-15T12:34:56.789Z', seq: 42 };

describe('encodeCursor / decodeCursor round trip', () => {
  it.each<CursorPosition>([
    position,
    { time: '2026-01-01T00:00:00.000Z', seq: 1 },
    { time: '1970-01-01T00:00:00.000Z', seq: 7 },
    { time: '2024-02-29T23:59:59.999Z', seq: 123_456_789 },
    { time: '9999-12-31T23:59:59.999Z', seq: Number.MAX_SAFE_INTEGER },
    { time: '0001-01-01T00:00:00.000Z', seq: 2 },
  ])('round-trips %j', (p) => {
    const cursor = encodeCursor(p);
    expect(decodeCursor(cursor)).toStrictEqual(p);
  });

  it('produces URL-safe text without padding', () => {
    for (let seq = 1; seq < 200; seq++) {
      const cursor = encodeCursor({ time: position.time, seq });
      expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    }
  });

  it('is opaque but deterministic', () => {
    expect(encodeCursor(position)).toBe(encodeCursor({ ...position }));
    expect(encodeCursor(position)).not.toBe(encodeCursor({ ...position, seq: 43 }));
    expect(encodeCursor(position)).not.toContain('2026');
  });

  it('is the base64url of the JSON pair [time, seq]', () => {
    expect(encodeCursor(position)).toBe(b64url(JSON.stringify([position.time, position.seq])));
  });

  it('round-trips a real event time from toISOString', () => {
    const time = new Date(Date.UTC(2026, 5, 7, 8, 9, 10, 11)).toISOString();
    expect(decodeCursor(encodeCursor({ time, seq: 9 }))).toStrictEqual({ time, seq: 9 });
  });
});

describe('decodeCursor rejects garbage', () => {
  it.each([
    '',
    ' ',
    'a',
    'abc',
    'not a cursor',
    'eyJ', // truncated
    '!!!!',
    'abc=',
    'YWJj==', // padded base64
    'YWJj+/', // standard, not url, alphabet
    '💥',
    'null',
    'undefined',
    '0',
  ])('rejects %j', (cursor) => {
    expect(decodeCursor(cursor)).toBeNull();
  });

  it('rejects input over 200 characters, even when it decodes', () => {
    // A valid pair padded with JSON whitespace that base64-encodes to over 200 characters.
    const padded = b64url(`[${' '.repeat(160)}"${position.time}",${position.seq}]`);
    expect(padded.length).toBeGreaterThan(200);
    expect(decodeCursor(padded)).toBeNull();
    expect(decodeCursor('A'.repeat(201))).toBeNull();
    expect(decodeCursor('A'.repeat(100_000))).toBeNull();
  });

  it('rejects a cursor with whitespace or a newline around it', () => {
    const cursor = encodeCursor(position);
    expect(decodeCursor(` ${cursor}`)).toBeNull();
    expect(decodeCursor(`${cursor}\n`)).toBeNull();
  });

  it('rejects base64 that is not JSON', () => {
    expect(decodeCursor(b64url('hello world'))).toBeNull();
    expect(decodeCursor(b64url('["2026-03-15T12:34:56.789Z", 42'))).toBeNull();
    expect(decodeCursor(b64url('\u0000\u0001\u0002'))).toBeNull();
  });

  it('rejects a tampered cursor (bytes flipped in the base64)', () => {
    const cursor = encodeCursor(position);
    let accepted = 0;
    for (let i = 0; i < cursor.length; i++) {
      for (const replacement of ['A', 'z', '_', '-', '0']) {
        if (cursor[i] === replacement) continue;
        const tampered = cursor.slice(0, i) + replacement + cursor.slice(i + 1);
        const decoded = decodeCursor(tampered);
        if (decoded !== null) {
          accepted++;
          // Whatever gets through must still be a well-formed position, and not the original.
          expect(decoded).not.toStrictEqual(position);
          expect(decoded.seq).toBeGreaterThanOrEqual(1);
          expect(new Date(decoded.time).toISOString()).toBe(decoded.time);
        }
      }
    }
    // Most single-character edits break the JSON or the shape.
    expect(accepted).toBeLessThan(cursor.length);
  });

  it('rejects a truncated cursor', () => {
    const cursor = encodeCursor(position);
    for (let n = 0; n < cursor.length; n++) expect(decodeCursor(cursor.slice(0, n))).toBeNull();
  });

  it('rejects a non-canonical encoding of a valid pair', () => {
    // Same JSON value, other spelling: whitespace, a float-looking seq, an escaped character.
    expect(decodeCursor(b64url(`[ "${position.time}" , 42 ]`))).toBeNull();
    expect(decodeCursor(b64url(`["${position.time}",42.0]`))).toBeNull();
    expect(decodeCursor(b64url(`["${position.time}",4.2e1]`))).toBeNull();
    expect(decodeCursor(b64url(`["\\u0032${position.time.slice(1)}",42]`))).toBeNull();
  });

  it('rejects base64 whose unused trailing bits differ from the encoder', () => {
    const cursor = encodeCursor(position);
    // The JSON is 31 bytes, so the last base64 character carries 4 unused bits.
    expect(JSON.stringify([position.time, position.seq]).length % 3).toBe(1);
    const last = cursor.at(-1)!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const sibling = alphabet[alphabet.indexOf(last) + 1]!; // same top bits, different unused bits
    const variant = cursor.slice(0, -1) + sibling;
    expect(Buffer.from(variant, 'base64url').toString()).toBe(Buffer.from(cursor, 'base64url').toString());
    expect(decodeCursor(variant)).toBeNull();
  });
});

describe('decodeCursor rejects wrong shapes', () => {
  it.each<[string, unknown]>([
    ['an object', { time: position.time, seq: position.seq }],
    ['a string', position.time],
    ['a number', 42],
    ['null', null],
    ['true', true],
    ['an empty array', []],
    ['one element', [position.time]],
    ['three elements', [position.time, position.seq, 1]],
    ['swapped elements', [position.seq, position.time]],
    ['a nested pair', [[position.time, position.seq]]],
    ['seq as a string', [position.time, '42']],
    ['seq as null', [position.time, null]],
    ['seq as a boolean', [position.time, true]],
    ['seq as an array', [position.time, [42]]],
    ['time as a number', [Date.parse(position.time), position.seq]],
    ['time as null', [null, position.seq]],
    ['time as an object', [{ time: position.time }, position.seq]],
  ])('rejects %s', (_, value) => {
    expect(decodeCursor(b64url(JSON.stringify(value)))).toBeNull();
  });
});

describe('decodeCursor rejects bad seq', () => {
  it.each([0, -1, -42, 1.5, 0.0001, 2 ** 53, Number.MAX_SAFE_INTEGER + 2, 1e300])('rejects seq %s', (seq) => {
    expect(decodeCursor(b64url(JSON.stringify([position.time, seq])))).toBeNull();
  });

  it('rejects NaN and Infinity spelled in the JSON', () => {
    expect(decodeCursor(b64url(`["${position.time}",NaN]`))).toBeNull();
    expect(decodeCursor(b64url(`["${position.time}",Infinity]`))).toBeNull();
    expect(decodeCursor(b64url(`["${position.time}",1e999]`))).toBeNull();
  });

  it('accepts seq 1 and the largest safe integer', () => {
    expect(decodeCursor(b64url(JSON.stringify([position.time, 1])))).toStrictEqual({ time: position.time, seq: 1 });
    expect(decodeCursor(b64url(JSON.stringify([position.time, Number.MAX_SAFE_INTEGER])))?.seq).toBe(
      Number.MAX_SAFE_INTEGER,
    );
  });
});

describe('decodeCursor rejects bad times', () => {
  it.each([
    '',
    'yesterday',
    '2026-03-15',
    '2026-03-15T12:34:56Z', // no milliseconds
    '2026-03-15T12:34:56.78Z', // two digits of milliseconds
    '2026-03-15T12:34:56.7890Z',
    '2026-03-15T12:34:56.789', // no zone
    '2026-03-15T12:34:56.789+00:00', // offset, not Z
    '2026-03-15T12:34:56.789z',
    '2026-03-15 12:34:56.789Z',
    ' 2026-03-15T12:34:56.789Z',
    '2026-03-15T12:34:56.789Z ',
    '+002026-03-15T12:34:56.789Z',
    '2026-13-01T00:00:00.000Z',
    '2026-00-01T00:00:00.000Z',
    '2026-01-00T00:00:00.000Z',
    '2026-01-32T00:00:00.000Z',
    '2026-01-01T25:00:00.000Z',
    '2026-01-01T23:60:00.000Z',
    '2026-01-01T23:59:60.000Z',
    'Sun, 15 Mar 2026 12:34:56 GMT',
  ])('rejects time %j', (time) => {
    expect(decodeCursor(b64url(JSON.stringify([time, 5])))).toBeNull();
  });

  it.each([
    '2026-02-29T00:00:00.000Z', // not a leap year
    '2026-02-30T00:00:00.000Z',
    '2026-02-31T00:00:00.000Z',
    '2026-04-31T00:00:00.000Z',
    '2026-06-31T12:00:00.000Z',
    '2026-01-01T24:00:00.000Z',
  ])('rejects the impossible time %j that Date.parse would roll over', (time) => {
    expect(Number.isNaN(Date.parse(time))).toBe(false); // V8 is lenient here
    expect(decodeCursor(b64url(JSON.stringify([time, 5])))).toBeNull();
  });

  it('accepts a leap day in a leap year', () => {
    const time = '2024-02-29T00:00:00.000Z';
    expect(decodeCursor(b64url(JSON.stringify([time, 5])))).toStrictEqual({ time, seq: 5 });
  });
});

describe('the count a cursor carries', () => {
  it('round-trips with the position', () => {
    for (const count of [{ value: 0, capped: false }, { value: 523, capped: false }, { value: 10_000, capped: true }]) {
      const cursor = encodeCursor({ time: '2026-01-02T03:04:05.678Z', seq: 42, count });
      expect(decodeCursor(cursor)).toEqual({ time: '2026-01-02T03:04:05.678Z', seq: 42, count });
    }
  });

  it.each([
    ['a negative count', ['2026-01-02T03:04:05.678Z', 42, -1, 0]],
    ['a fractional count', ['2026-01-02T03:04:05.678Z', 42, 1.5, 0]],
    ['capped as a boolean', ['2026-01-02T03:04:05.678Z', 42, 5, true]],
    ['capped as 2', ['2026-01-02T03:04:05.678Z', 42, 5, 2]],
    ['three elements', ['2026-01-02T03:04:05.678Z', 42, 5]],
    ['a count as text', ['2026-01-02T03:04:05.678Z', 42, '5', 0]],
  ])('rejects %s', (_name, value) => {
    const cursor = btoa(JSON.stringify(value)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    expect(decodeCursor(cursor)).toBeNull();
  });
});
