// The opaque list cursor: the (time, seq) of the last event a page showed. Clients pass
// it back unchanged; the server decodes it strictly and rejects anything else.

export interface CursorPosition {
  time: string;
  seq: number;
}

function toBase64Url(text: string): string {
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64Url(text: string): string {
  return atob(text.replace(/-/g, '+').replace(/_/g, '/'));
}

export function encodeCursor(position: CursorPosition): string {
  return toBase64Url(JSON.stringify([position.time, position.seq]));
}

/** The position in a cursor, or null when the cursor was not made by encodeCursor. */
export function decodeCursor(cursor: string): CursorPosition | null {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(cursor)) return null;
  try {
    const value: unknown = JSON.parse(fromBase64Url(cursor));
    if (!Array.isArray(value) || value.length !== 2) return null;
    const [time, seq] = value as unknown[];
    if (typeof time !== 'string' || typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1) return null;
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(time)) return null;
    // Round trip, not Date.parse alone: V8 parses 2026-02-30 or 24:00 by rolling over.
    const parsed = new Date(time);
    if (Number.isNaN(parsed.getTime()) || parsed.toISOString() !== time) return null;
    // Only what encodeCursor makes: no other JSON spacing, number spelling or base64 bits.
    if (encodeCursor({ time, seq }) !== cursor) return null;
    return { time, seq };
  } catch {
    return null;
  }
}
