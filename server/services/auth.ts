// Who is calling. For now one credential exists: the administrator token from the
// environment (VIGIL_ADMIN_TOKEN). It is kept only as a SHA-256 digest and compared in
// constant time.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Caller } from './events.js';

export interface Authenticator {
  authenticate(token: string): Promise<Caller | null>;
}

export function hashToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

export function generateToken(): string {
  return `vgl_${randomBytes(32).toString('base64url')}`;
}

export function adminTokenAuthenticator(adminToken: string): Authenticator {
  const expected = hashToken(adminToken);
  return {
    async authenticate(token) {
      return timingSafeEqual(hashToken(token), expected) ? { username: 'admin' } : null;
    },
  };
}

/** Reads `Authorization: Bearer <token>`; anything else is anonymous. */
export async function authenticateBearer(authenticator: Authenticator, header: string | undefined): Promise<Caller | null> {
  const match = /^Bearer ([\x21-\x7e]{1,512})$/.exec(header ?? '');
  return match ? authenticator.authenticate(match[1]!) : null;
}
