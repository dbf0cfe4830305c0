// The local CLI credential: how `vigil` commands reach a server that holds the embedded
// database (whose data directory one process at a time may open). At each start the server
// makes a new random token, keeps only its hash (in memory: it belongs to this process and
// no other), and writes the token and its own address to `<dataDir>/cli-credential`,
// readable by the server's account only. The file is removed on shutdown; a token left by
// a server that crashed is accepted by no one, since the next start makes another.
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PRIVATE_FILE_MODE } from '../fileModes.js';
import { generateToken, hashToken } from './auth.js';

export const CLI_CREDENTIAL_FILE = 'cli-credential';

export interface CliCredential {
  /** Where the server answers, as seen from its own host. */
  url: string;
  token: string;
}

/** A new token and the hash the server checks it against. */
export function newCliToken(): { token: string; hash: string } {
  const token = generateToken();
  return { token, hash: hashToken(token) };
}

/** A listening address as reached from the same host: the wildcard addresses are loopback there. */
export function localUrl(listeningUrl: string): string {
  const url = new URL(listeningUrl);
  if (url.hostname === '0.0.0.0') url.hostname = '127.0.0.1';
  if (url.hostname === '[::]') url.hostname = '[::1]';
  return url.origin;
}

export function cliCredentialPath(dataDir: string): string {
  return path.join(dataDir, CLI_CREDENTIAL_FILE);
}

/** Replaces any earlier file (a new file, so the mode is the owner-only one whatever the old had). */
export async function writeCliCredential(dataDir: string, credential: CliCredential): Promise<string> {
  const file = cliCredentialPath(dataDir);
  await rm(file, { force: true });
  await writeFile(file, `${JSON.stringify(credential)}\n`, { mode: PRIVATE_FILE_MODE, flag: 'wx' });
  return file;
}

export async function removeCliCredential(dataDir: string): Promise<void> {
  await rm(cliCredentialPath(dataDir), { force: true });
}

/** The credential a running server left, or null when there is none (or it is not one). */
export async function readCliCredential(dataDir: string): Promise<CliCredential | null> {
  let text: string;
  try {
    text = await readFile(cliCredentialPath(dataDir), 'utf8');
  } catch {
    return null;
  }
  try {
    const parsed = JSON.parse(text) as Partial<CliCredential>;
    return typeof parsed.url === 'string' && typeof parsed.token === 'string' ? { url: parsed.url, token: parsed.token } : null;
  } catch {
    return null;
  }
}
