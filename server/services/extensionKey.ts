// The RSA key that signs the CRX3 package the server serves. The extension id derives
// from it, so it must stay the same across builds and restarts (policies name the id):
// from VIGIL_EXTENSION_KEY when set, else generated once into the data directory.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface ExtensionKey {
  /** PKCS#8 PEM, for the CRX packer. */
  privateKeyPem: string;
  /** The Chrome extension id this key gives a package. */
  extensionId: string;
}

/** Chrome's id: the first 16 bytes of SHA-256 of the DER public key, hex digits mapped to a-p. */
export function extensionIdOf(publicKeyDer: Buffer): string {
  const hex = createHash('sha256').update(publicKeyDer).digest('hex').slice(0, 32);
  return [...hex].map((digit) => String.fromCharCode(97 + parseInt(digit, 16))).join('');
}

function keyFrom(privateKey: KeyObject): ExtensionKey {
  const der = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  return { privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), extensionId: extensionIdOf(der) };
}

/** Parses VIGIL_EXTENSION_KEY (PEM, or base64 of a PEM); any other value is refused, naming the variable. */
export function parseExtensionKey(value: string): ExtensionKey {
  let key: KeyObject;
  try {
    key = createPrivateKey(value.includes('BEGIN') ? value : Buffer.from(value, 'base64').toString('utf8'));
  } catch {
    throw new Error('VIGIL_EXTENSION_KEY must be an RSA private key (PEM); it could not be read as a private key');
  }
  if (key.asymmetricKeyType !== 'rsa') {
    throw new Error(`VIGIL_EXTENSION_KEY must be an RSA private key (PEM), not ${key.asymmetricKeyType ?? 'an unknown key type'}`);
  }
  return keyFrom(key);
}

export async function loadExtensionKey(options: { pem?: string | undefined; dataDir: string }): Promise<ExtensionKey> {
  if (options.pem) return parseExtensionKey(options.pem);
  const file = path.join(options.dataDir, 'extension-key.pem');
  try {
    return keyFrom(createPrivateKey(await readFile(file, 'utf8')));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  await writeFile(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
  return keyFrom(privateKey);
}
