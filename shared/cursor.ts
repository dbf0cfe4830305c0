// The opaque list cursor: the (time, seq) of the last event a page showed, and the
// listing's capped count as the first page found it (so deeper pages need not count
// again). Clients pass it back unchanged; the server decodes it strictly and rejects
// anything else.

export interface CursorPosition {
  time: string;
  seq: number;
  count?: { value: number; capped: boolean };
}

function toBase64Url(text: string): string {
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64Url(text: string): string {
  return atob(text.replace(/-/g, '+').replace(/_/g, '/'));
}

export function encodeCursor(position: CursorPosition): string {
  const count = position.count ? [position.count.value, position.count.capped ? 1 : 0] : [];
  return toBase64Url(JSON.stringify([position.time, position.seq, ...count]));
}

/** The position in a cursor, or null when the cursor was not made by encodeCursor. */
export function decodeCursor(cursor: string): CursorPosition | null {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(cursor)) return null;
  try {
    const value: unknown = JSON.parse(fromBase64Url(cursor));
    if (!Array.isArray(value) || (value.length !== 2 && value.length !== 4)) return null;
    const [time, seq, countValue, capped] = value as unknown[];
    if (typeof time !== 'string' || typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1) return null;
    let count: CursorPosition['count'];
    if (value.length === 4) {
      if (typeof countValue !== 'number' || !Number.isSafeInteger(countValue) || countValue < 0 || (capped !== 0 && capped !== 1)) return null;
      count = { value: countValue, capped: capped === 1 };
    }
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(time)) return null;
    // Round trip, not Date.parse alone: V8 parses 2026-02-30 or 24:00 by rolling over.
    const parsed = new Date(time);
    if (Number.isNaN(parsed.getTime()) || parsed.toISOString() !== time) return null;
    // Only what encodeCursor makes: no other JSON spacing, number spelling or base64 bits.
    const position = { time, seq, ...(count ? { count } : {}) };
    if (encodeCursor(position) !== cursor) return null;
    return position;
  } catch {
    return null;
  }
}
