// The integrity chain's hash step, beside the canonical form it hashes: the writer, the
// verifier, the CLI and offline export verification share it.
import { createHash } from 'node:crypto';
import { canonicalEvent, type CanonicalEventFields } from './canonical.js';

export function chainHash(prevHash: string, event: CanonicalEventFields): string {
  return chainStep(prevHash, canonicalEvent(event));
}

/** The chain step on an already-serialised event (the writer serialises before its lock). */
export function chainStep(prevHash: string, canonical: string): string {
  return createHash('sha256').update(prevHash).update(canonical).digest('hex');
}
