// The Ed25519 key that signs integrity checkpoints. From VIGIL_SIGNING_KEY (a PKCS#8
// PEM) when set (required when several replicas share one database), else generated
// once into the data directory (signing-key.pem, mode 0600).
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface Signer {
  /** SHA-256 (hex) of the public key (SPKI DER): names the key on each checkpoint. */
  keyId: string;
  publicKeyPem: string;
  sign(message: string): string;
  verify(message: string, signature: string): boolean;
}

export function signerFromPrivateKey(privateKey: KeyObject): Signer {
  const publicKey = createPublicKey(privateKey);
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return {
    keyId: createHash('sha256').update(der).digest('hex'),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    sign: (message) => sign(null, Buffer.from(message, 'utf8'), privateKey).toString('base64'),
    verify: (message, signature) => verify(null, Buffer.from(message, 'utf8'), publicKey, Buffer.from(signature, 'base64')),
  };
}

export function generateSigner(): Signer {
  return signerFromPrivateKey(generateKeyPairSync('ed25519').privateKey);
}

export async function loadSigner(options: { pem?: string | undefined; dataDir: string }): Promise<Signer> {
  if (options.pem) {
    const key = createPrivateKey(options.pem.includes('BEGIN') ? options.pem : Buffer.from(options.pem, 'base64').toString('utf8'));
    if (key.asymmetricKeyType !== 'ed25519') throw new Error('VIGIL_SIGNING_KEY must be an Ed25519 private key (PKCS#8 PEM)');
    return signerFromPrivateKey(key);
  }
  const file = path.join(options.dataDir, 'signing-key.pem');
  try {
    return signerFromPrivateKey(createPrivateKey(await readFile(file, 'utf8')));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(options.dataDir, { recursive: true });
  const { privateKey } = generateKeyPairSync('ed25519');
  await writeFile(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
  return signerFromPrivateKey(privateKey);
}
