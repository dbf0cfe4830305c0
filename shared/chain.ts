// The two hashes of an event's canonical form: the integrity chain's step and the Merkle
// tree's leaf. The writer (which computes both from one serialisation), the verifier, the
// CLI and offline export verification share them.
import { createHash } from 'node:crypto';
import { canonicalEvent, type CanonicalEventFields } from './canonical.js';

export function chainHash(prevHash: string, event: CanonicalEventFields): string {
  return chainStep(prevHash, canonicalEvent(event));
}

/** The chain step on an already-serialised event (the writer serialises before its lock). */
export function chainStep(prevHash: string, canonical: string): string {
  return createHash('sha256').update(prevHash).update(canonical).digest('hex');
}

const LEAF_PREFIX = Buffer.from([0x00]);

/** The RFC 9162 leaf hash of an already-serialised event: SHA-256(0x00 ‖ UTF-8 of it). */
export function leafStep(canonical: string): Buffer {
  return createHash('sha256').update(LEAF_PREFIX).update(canonical, 'utf8').digest();
}
