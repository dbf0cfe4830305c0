// The first site manager's generated password: written to a file only its owner can read,
// and shown on the console only when a person is looking (a terminal). Never in the JSON
// log stream, which log shippers collect.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';

export const FIRST_PASSWORD_FILE = 'first-admin-password';

export async function writeFirstPassword(dataDir: string, password: string): Promise<string> {
  const file = path.join(dataDir, FIRST_PASSWORD_FILE);
  await writeFile(file, `${password}\n`, { mode: 0o600 });
  return file;
}

/** What the console shows on first start. */
export function firstStartMessage(options: {
  username: string;
  url: string;
  /** Where a generated password was written (absent: it came from VIGIL_ADMIN_PASSWORD). */
  passwordFile?: string | undefined;
  password?: string | undefined;
  terminal: boolean;
}): string {
  const { username, url, passwordFile, password, terminal } = options;
  const secret = passwordFile
    ? terminal && password
      ? `password ${password} (also in ${passwordFile}, readable only by you)`
      : `the password in ${passwordFile} (readable only by the server's user)`
    : 'the password in VIGIL_ADMIN_PASSWORD';
  return (
    `\nFirst start: created the site manager "${username}".\n` +
    `  Log in at ${url} (extension options page) with username ${username} and ${secret}\n` +
    `  Change it with: npm run vigil -- user password ${username}` +
    (passwordFile ? `, then delete ${passwordFile}\n` : '\n')
  );
}
