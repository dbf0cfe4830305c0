// Bundled into a page of real Chromium by test/bench/witnessInBrowser.ts: the extension's
// own witness step (extension/src/witness.ts), timed per sync on heads and proofs the bench
// fetched from the server beforehand, so only the browser's verification is measured.
import { witnessHead, type TreeHead } from '../../extension/src/witness.js';

export interface SyncCase {
  held: TreeHead;
  received: TreeHead;
  proof: string[];
}

async function timeSyncs(cases: SyncCase[]): Promise<number[]> {
  const times: number[] = [];
  for (const c of cases) {
    const api = {
      treeHead: async () => c.received,
      consistencyProof: async () => ({ proof: c.proof }),
      inclusionProof: async () => {
        throw new Error('not asked in a sync');
      },
    };
    const started = performance.now();
    const outcome = await witnessHead({ pinnedKey: c.received.verifierKey, head: c.held }, api, new Date());
    times.push(performance.now() - started);
    if (outcome.kind !== 'verified') throw new Error(`a sync from ${c.held.treeSize} to ${c.received.treeSize} did not verify: ${outcome.kind}`);
  }
  return times;
}

(globalThis as unknown as { timeSyncs: typeof timeSyncs }).timeSyncs = timeSyncs;
