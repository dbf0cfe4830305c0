// A sink's secret (webhook HMAC key, Splunk HEC token, Datadog API key) is stored only as
// AES-256-GCM ciphertext under the secrets key, bound to the sink's id: it cannot be moved
// to another sink. Revealed only to deliver; never in an answer, an event or a log line.
import type { SinkRow } from '../db/schema.js';
import type { SecretsKey } from './secretsKey.js';

const secretContext = (sinkId: string) => `vigil-sink:${sinkId}`;

export function encryptSinkSecret(secretsKey: SecretsKey, sinkId: string, secret: string | null): string | null {
  return secret === null ? null : secretsKey.encrypt(secret, secretContext(sinkId));
}

/** The secret in clear, or null when the sink has none; throws when the ciphertext is not the configured key's. */
export function revealSinkSecret(secretsKey: SecretsKey, row: Pick<SinkRow, 'id' | 'secretCiphertext'>): string | null {
  return row.secretCiphertext === null ? null : secretsKey.decrypt(row.secretCiphertext, secretContext(row.id));
}
