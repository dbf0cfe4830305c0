// Vigil's files on disk (the embedded database, its lock, the generated keys) are the
// server's own: readable and writable by its user only.
import { chmod, readdir } from 'node:fs/promises';
import path from 'node:path';

export const PRIVATE_FILE_MODE = 0o600;
export const PRIVATE_DIR_MODE = 0o700;

/** Files and directories this process creates from now on: owner only (umask 077). */
export function restrictNewFiles(): void {
  process.umask(0o077);
}

/**
 * Makes every file under `dir` 0600 and every directory 0700. PGlite unpacks its initial
 * data directory with mode 0666 whatever the umask, so the umask alone is not enough.
 */
export async function restrictTree(dir: string): Promise<void> {
  await chmod(dir, PRIVATE_DIR_MODE);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) await restrictTree(full);
    else if (entry.isFile()) await chmod(full, PRIVATE_FILE_MODE);
  }
}
