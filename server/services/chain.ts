// The integrity chain's hash step, shared by the writer, the verifier and the CLI.
import { createHash } from 'node:crypto';
import { canonicalEvent, type CanonicalEventFields } from '../../shared/canonical.js';

export function chainHash(prevHash: string, event: CanonicalEventFields): string {
  return createHash('sha256').update(prevHash).update(canonicalEvent(event)).digest('hex');
}
