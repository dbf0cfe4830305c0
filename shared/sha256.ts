// SHA-256 for everything the Merkle tree and signed notes hash, in Node and in the
// browser alike. @noble/hashes (audited, no dependencies) because it is synchronous
// everywhere: WebCrypto's digest is async only, and node:crypto is absent in the browser.
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';

/** SHA-256 of the concatenation of `parts`. */
export function sha256(...parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return nobleSha256(parts[0]!);
  const hasher = nobleSha256.create();
  for (const part of parts) hasher.update(part);
  return hasher.digest();
}
