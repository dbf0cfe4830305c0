// An external witness of a Vigil server's verifiable log, in one run (schedule it, e.g.
// every minute from cron):
//
//   VIGIL_URL=http://127.0.0.1:8080 VIGIL_TOKEN=<auditor or events:read token> \
//   VIGIL_VERIFIER_KEY='<origin>+<key id>+<key>' node --import tsx test/examples/witness.ts state.txt
//
// It fetches GET /checkpoint, verifies the note with the pinned key, and, when it already
// holds a head (state.txt), asks for a consistency proof from it and verifies that the new
// tree extends the old one. Then it keeps the new head. Exit status 0: consistent; 1: the
// history changed (the evidence is printed; the old head is kept); 2: bad usage.
import { readFile, writeFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { createVigilClient } from '../../shared/client.js';
import { fromBase64 } from '../../shared/base64.js';
import { verifyConsistency } from '../../shared/merkle.js';
import { verifyCheckpoint } from '../../shared/signedNote.js';

export interface WitnessResult {
  ok: boolean;
  treeSize: number;
  previousSize: number | null;
  /** Why the history is not the one witnessed before. */
  problem?: string;
}

export async function witnessOnce(options: { url: string; token: string; verifierKey: string; previousNote: string | null }): Promise<{ result: WitnessResult; note: string }> {
  const response = await fetch(`${options.url.replace(/\/+$/, '')}/checkpoint`, { headers: { authorization: `Bearer ${options.token}` } });
  if (!response.ok) throw new Error(`GET /checkpoint: HTTP ${response.status} ${await response.text()}`);
  const note = await response.text();
  const fail = (problem: string, treeSize: number, previousSize: number | null) => ({ result: { ok: false, treeSize, previousSize, problem }, note });
  let current;
  try {
    current = await verifyCheckpoint(note, options.verifierKey);
  } catch (error) {
    return fail(`the new checkpoint does not verify: ${(error as Error).message}`, -1, null);
  }
  if (options.previousNote === null) return { result: { ok: true, treeSize: current.treeSize, previousSize: null }, note };
  const previous = await verifyCheckpoint(options.previousNote, options.verifierKey);
  if (previous.origin !== current.origin) return fail(`the log's origin changed from ${previous.origin} to ${current.origin}`, current.treeSize, previous.treeSize);
  if (current.treeSize < previous.treeSize) return fail(`the tree shrank from ${previous.treeSize} to ${current.treeSize} leaves (a rollback)`, current.treeSize, previous.treeSize);
  const vigil = createVigilClient({ url: options.url, token: options.token });
  const { proof } = await vigil.integrity.consistencyProof.query({ from: previous.treeSize, to: current.treeSize });
  const consistent = verifyConsistency(previous.treeSize, current.treeSize, previous.rootHash, current.rootHash, proof.map((p) => fromBase64(p)!));
  if (!consistent) return fail(`the tree of ${current.treeSize} leaves does not extend the witnessed tree of ${previous.treeSize}: the history was rewritten`, current.treeSize, previous.treeSize);
  return { result: { ok: true, treeSize: current.treeSize, previousSize: previous.treeSize }, note };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const stateFile = process.argv[2];
  const { VIGIL_URL: url, VIGIL_TOKEN: token, VIGIL_VERIFIER_KEY: verifierKey } = process.env;
  if (!stateFile || !url || !token || !verifierKey) {
    console.error('usage: VIGIL_URL=… VIGIL_TOKEN=… VIGIL_VERIFIER_KEY=… node --import tsx test/examples/witness.ts STATE_FILE');
    process.exit(2);
  }
  const previousNote = await readFile(stateFile, 'utf8').catch(() => null);
  const { result, note } = await witnessOnce({ url, token, verifierKey, previousNote });
  console.log(JSON.stringify(result));
  if (!result.ok) {
    console.error(`HISTORY CHANGED: ${result.problem}\n--- witnessed head ---\n${previousNote ?? ''}--- served head ---\n${note}`);
    process.exit(1);
  }
  await writeFile(stateFile, note);
}
