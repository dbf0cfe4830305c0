// The key that encrypts secret settings at rest (AES-256-GCM). From VIGIL_SECRETS_KEY
// (32 bytes, base64 or hex; required when several replicas share one database), else
// generated once into the data directory (secrets.key, mode 0600).
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface SecretsKey {
  /** First 16 hex digits of SHA-256 of the key: names the key on each ciphertext. */
  keyId: string;
  /** `v1.<keyId>.<iv>.<tag>.<ciphertext>` (base64url), bound to `context` (e.g. the setting's key). */
  encrypt(plaintext: string, context: string): string;
  /** Throws when the ciphertext was made with another key, altered, or moved to another context. */
  decrypt(ciphertext: string, context: string): string;
}

const KEY_BYTES = 32;
const IV_BYTES = 12;

export function secretsKeyFromBytes(key: Buffer): SecretsKey {
  if (key.length !== KEY_BYTES) throw new Error(`a secrets key is ${KEY_BYTES} bytes, got ${key.length}`);
  const material = Buffer.from(key);
  const keyId = createHash('sha256').update(material).digest('hex').slice(0, 16);
  return {
    keyId,
    encrypt(plaintext, context) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', material, iv);
      cipher.setAAD(Buffer.from(context, 'utf8'));
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return ['v1', keyId, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')].join('.');
    },
    decrypt(ciphertext, context) {
      const [version, id, iv, tag, body] = ciphertext.split('.');
      if (version !== 'v1' || iv === undefined || tag === undefined || body === undefined) throw new Error('not a Vigil secret ciphertext');
      if (id !== keyId) {
        throw new Error(`this secret was encrypted with key ${id}, not with the configured key ${keyId} (VIGIL_SECRETS_KEY or <dataDir>/secrets.key)`);
      }
      const decipher = createDecipheriv('aes-256-gcm', material, Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
    },
  };
}

/** 32 bytes from base64 (standard or url-safe) or 64 hex digits. */
export function parseSecretsKey(raw: string): SecretsKey {
  const value = raw.trim();
  const bytes = /^[0-9a-fA-F]{64}$/.test(value) ? Buffer.from(value, 'hex') : Buffer.from(value, 'base64');
  if (bytes.length !== KEY_BYTES) {
    throw new Error(`VIGIL_SECRETS_KEY must be ${KEY_BYTES} random bytes, base64 or hex (e.g. openssl rand -base64 32)`);
  }
  return secretsKeyFromBytes(bytes);
}

export function generateSecretsKey(): SecretsKey {
  return secretsKeyFromBytes(randomBytes(KEY_BYTES));
}

export async function loadSecretsKey(options: { key?: string | undefined; dataDir: string }): Promise<SecretsKey> {
  if (options.key) return parseSecretsKey(options.key);
  const file = path.join(options.dataDir, 'secrets.key');
  let stored: string | undefined;
  try {
    stored = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  if (stored !== undefined) {
    try {
      return parseSecretsKey(stored);
    } catch {
      throw new Error(`${file} does not hold a secrets key (32 bytes, base64); restore it, or set VIGIL_SECRETS_KEY`);
    }
  }
  await mkdir(options.dataDir, { recursive: true });
  const bytes = randomBytes(KEY_BYTES);
  await writeFile(file, `${bytes.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  return secretsKeyFromBytes(bytes);
}

let processKey: SecretsKey | undefined;

/**
 * One key for the life of this process, for in-process callers (createContextInner) that
 * pass none: what they encrypt stays readable to each other, and to nothing after exit.
 */
export function processSecretsKey(): SecretsKey {
  processKey ??= generateSecretsKey();
  return processKey;
}
