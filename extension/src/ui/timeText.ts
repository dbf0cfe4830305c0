// Absolute times for the full view's time column: the local zone by default, UTC on hover
// or when the user chose UTC. One formatter (creating them is slow).
let zonedFormat: Intl.DateTimeFormat | undefined;

/**
 * The local date and time with the zone, in an order that reads the same everywhere:
 * "2026-12-03 16:52:33 GMT+5:30".
 */
export function localTimeWithZone(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  zonedFormat ??= new Intl.DateTimeFormat('en-US', {
    year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
    hourCycle: 'h23', timeZoneName: 'short',
  });
  const part = Object.fromEntries(zonedFormat.formatToParts(d).map((p) => [p.type, p.value]));
  return `${part.year}-${part.month}-${part.day} ${part.hour}:${part.minute}:${part.second} ${part.timeZoneName}`;
}

/** The same instant in UTC: "2026-12-03 11:22:33 UTC". */
export function utcTime(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}
