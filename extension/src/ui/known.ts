import type { AuditEvent } from '../../../shared/event.js';
import type { KnownValues } from '../completion.js';

/** Usernames and targets seen in the loaded events, for completion and datalists. */
export function knownValues(items: readonly AuditEvent[]): Required<KnownValues> {
  const usernames = new Set<string>();
  const targets = new Set<string>();
  for (const event of items) {
    if (event.actor && usernames.size < 50) usernames.add(event.actor.username);
    if (targets.size < 50) targets.add(event.resourceTarget);
  }
  return { usernames: [...usernames].sort(), targets: [...targets].sort() };
}
