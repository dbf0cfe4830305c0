// What the verifiable log costs, on Postgres: Merkle tree integration throughput beside
// raw SHA-256 of the same leaf bytes; ingest with the tree integrator running against
// without it (rounds alternated, same run); inclusion and consistency proof latency as
// the service answers them. `npm run bench -- --only=merkle` (with --quick: small sizes).
import { createHash } from 'node:crypto';
import os from 'node:os';
import { canonicalEvent } from '../../shared/canonical.js';
import { eventInputSchema } from '../../shared/event.js';
import { sha256 } from '../../shared/sha256.js';
import { openDatabase, type DatabaseHandle } from '../../server/db/database.js';
import { selectChainSlice } from '../../server/db/integrityStore.js';
import { EventWriter } from '../../server/db/eventWriter.js';
import { recordEvents } from '../../server/services/events.js';
import { eventInclusionProof, integrateEvents, treeConsistencyProof, treeLogOf } from '../../server/services/merkleTree.js';
import { generateSigner } from '../../server/services/signingKey.js';
import { TreeIntegrator } from '../../server/services/treeIntegrator.js';
import { BATCH, makeEvents, median } from './ingest.js';
import { freshDatabase, int, log, ms, now, percentile, ratio } from './util.js';

export interface MerkleBenchResult {
  integration: {
    leaves: number;
    seconds: number;
    leavesPerSec: number;
    /** Leaves per second of this process's own CPU (Postgres's not counted): steadier than wall time on a busy machine. */
    leavesPerCpuSec: number;
    rawSha256LeavesPerSec: number;
    nodeSha256LeavesPerSec: number;
  };
  ingest: { rows: number; rounds: number; withTreeRowsPerSec: number; withoutTreeRowsPerSec: number; cost: number; treeLagMs: number };
  proofs: { treeSize: number; calls: number; inclusion: { p50: number; p95: number }; consistency: { p50: number; p95: number } };
  /** 1-minute load average at the start and the end: other work on the machine shows in every figure. */
  load: { start: number; end: number };
}

export interface MerkleBenchOptions {
  /** Events integrated for the throughput and proof figures. */
  treeRows: number;
  /** Events per ingest round, and rounds of each kind. */
  ingestRows: number;
  rounds: number;
  proofCalls: number;
  concurrency: number;
}

async function scratch(adminUrl: string, name: string): Promise<{ handle: DatabaseHandle; drop(): Promise<void> }> {
  const db = await freshDatabase(adminUrl, name);
  const handle = await openDatabase({ databaseUrl: db.url, maxConnections: 6 });
  return {
    handle,
    async drop() {
      await handle.close();
      await db.drop();
    },
  };
}

type Parsed = ReturnType<typeof eventInputSchema.parse>;

async function ingest(handle: DatabaseHandle, events: Parsed[], concurrency: number): Promise<number> {
  const batches: Parsed[][] = [];
  for (let i = 0; i < events.length; i += BATCH) batches.push(events.slice(i, i + BATCH));
  const started = now();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < batches.length) await recordEvents(new EventWriter(handle.db), batches[next++]!);
    }),
  );
  return events.length / ((now() - started) / 1000);
}

export async function runMerkleBench(adminUrl: string, options: MerkleBenchOptions): Promise<MerkleBenchResult> {
  const loadAtStart = os.loadavg()[0]!;
  const log_ = treeLogOf(generateSigner(), 'bench.vigil/audit');
  const parse = (events: ReturnType<typeof makeEvents>) => events.map((e) => eventInputSchema.parse(e));

  // Integration throughput, on events already stored.
  log(`merkle: integrating ${int(options.treeRows)} events`);
  const tree = await scratch(adminUrl, 'vigil_bench_merkle_tree');
  let integration: MerkleBenchResult['integration'];
  let proofs: MerkleBenchResult['proofs'];
  try {
    const events = parse(makeEvents(options.treeRows, 916));
    for (let i = 0; i < events.length; i += BATCH * 10) await ingest(tree.handle, events.slice(i, i + BATCH * 10), options.concurrency);
    const started = now();
    const cpu = process.cpuUsage();
    await integrateEvents(tree.handle.db, { batchSize: 10_000 });
    const seconds = (now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    const cpuSeconds = (used.user + used.system) / 1e6;
    // The same leaf bytes, hashed alone (what integration cannot go below).
    const rows = await selectChainSlice(tree.handle.db, 0, Math.min(options.treeRows, 50_000));
    const bytes = rows.map((r) => new TextEncoder().encode(canonicalEvent(r)));
    const prefix = new Uint8Array([0]);
    let t = now();
    for (const b of bytes) sha256(prefix, b);
    const rawSha256LeavesPerSec = bytes.length / ((now() - t) / 1000);
    t = now();
    for (const b of bytes) createHash('sha256').update(prefix).update(b).digest();
    const nodeSha256LeavesPerSec = bytes.length / ((now() - t) / 1000);
    integration = {
      leaves: options.treeRows,
      seconds,
      leavesPerSec: options.treeRows / seconds,
      leavesPerCpuSec: options.treeRows / cpuSeconds,
      rawSha256LeavesPerSec,
      nodeSha256LeavesPerSec,
    };

    // Proof latency, as the service computes them (database reads included).
    const ids = rows.map((r) => r.id);
    const size = options.treeRows;
    const inclusion: number[] = [];
    const consistency: number[] = [];
    for (let i = 0; i < options.proofCalls; i++) {
      const id = ids[Math.floor(Math.random() * ids.length)]!;
      let s = now();
      await eventInclusionProof(tree.handle.db, id, size);
      inclusion.push(now() - s);
      const from = 1 + Math.floor(Math.random() * (size - 1));
      s = now();
      await treeConsistencyProof(tree.handle.db, from, size);
      consistency.push(now() - s);
    }
    proofs = {
      treeSize: size,
      calls: options.proofCalls,
      inclusion: { p50: percentile(inclusion, 50), p95: percentile(inclusion, 95) },
      consistency: { p50: percentile(consistency, 50), p95: percentile(consistency, 95) },
    };
  } finally {
    await tree.drop();
  }

  // Ingest with the integrator following it against without, rounds alternated.
  const withTree: number[] = [];
  const without: number[] = [];
  const lags: number[] = [];
  for (let round = 0; round < options.rounds * 2; round++) {
    const on = round % 2 === 0;
    log(`merkle: ingest round ${round + 1}/${options.rounds * 2} (${on ? 'with' : 'without'} the tree)`);
    const db = await scratch(adminUrl, 'vigil_bench_merkle_ingest');
    const integrator = on ? new TreeIntegrator(db.handle.db, log_, { listen: db.handle.listen }) : null;
    try {
      await integrator?.start();
      const events = parse(makeEvents(options.ingestRows, 100 + round));
      const rate = await ingest(db.handle, events, options.concurrency);
      (on ? withTree : without).push(rate);
      if (integrator) {
        const s = now();
        await integrator.settle();
        lags.push(now() - s);
      }
    } finally {
      await integrator?.stop();
      await db.drop();
    }
  }
  const w = median(withTree);
  const wo = median(without);
  return {
    integration,
    ingest: { rows: options.ingestRows, rounds: options.rounds, withTreeRowsPerSec: w, withoutTreeRowsPerSec: wo, cost: 1 - w / wo, treeLagMs: median(lags) },
    proofs,
    load: { start: loadAtStart, end: os.loadavg()[0]! },
  };
}

export function formatMerkleBench(r: MerkleBenchResult): string {
  const i = r.integration;
  return [
    '## Verifiable log (Merkle tree), Postgres',
    '',
    `1-minute load average ${r.load.start.toFixed(1)} at the start, ${r.load.end.toFixed(1)} at the end (2 cores: above 2, every figure is slowed by other work).`,
    '',
    `| measure | figure | target |`,
    `| --- | --- | --- |`,
    `| tree integration (${int(i.leaves)} stored events: read, canonical form, leaf and node hashes, insert) | ${int(i.leavesPerSec)} leaves/s; ${int(i.leavesPerCpuSec)} per CPU-second of the server process (Postgres's CPU not counted) | ≥ 100,000 leaves/s |`,
    `| SHA-256 of the same leaf bytes alone, node:crypto (what the server hashes with) | ${int(i.nodeSha256LeavesPerSec)} leaves/s (integration at ${ratio(i.leavesPerSec / i.nodeSha256LeavesPerSec)}) | |`,
    `| SHA-256 of the same leaf bytes alone, @noble/hashes (shared/sha256.ts: the extension's) | ${int(i.rawSha256LeavesPerSec)} leaves/s | |`,
    `| ingest with the integrator running / without (median of ${r.ingest.rounds} rounds each, ${int(r.ingest.rows)} events) | ${int(r.ingest.withTreeRowsPerSec)} / ${int(r.ingest.withoutTreeRowsPerSec)} rows/s: cost ${(r.ingest.cost * 100).toFixed(1)}% | ≤ 15% |`,
    `| tree behind at the end of an ingest round (time to settle) | ${ms(r.ingest.treeLagMs)} | ≤ 1 s |`,
    `| inclusion proof, service (${int(r.proofs.calls)} calls, tree of ${int(r.proofs.treeSize)}) | p50 ${ms(r.proofs.inclusion.p50)}, p95 ${ms(r.proofs.inclusion.p95)} | p95 ≤ 2 ms |`,
    `| consistency proof, service | p50 ${ms(r.proofs.consistency.p50)}, p95 ${ms(r.proofs.consistency.p95)} | p95 ≤ 2 ms |`,
    '',
  ].join('\n');
}
