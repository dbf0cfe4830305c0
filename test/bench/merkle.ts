// What the verifiable log costs, on Postgres: Merkle tree integration throughput beside
// raw SHA-256 of the same bytes; ingest with the tree integrator running against without
// it (rounds alternated, same run); and on a large tree of synthetic leaves (10M in the
// full run), integration at scale, inclusion and consistency proof latency as the service
// answers them, and the extension's verification per sync in real Chromium.
// `npm run bench -- --only=merkle` (with --quick: small sizes).
import { createHash } from 'node:crypto';
import os from 'node:os';
import { canonicalEvent } from '../../shared/canonical.js';
import { eventInputSchema } from '../../shared/event.js';
import { sha256 } from '../../shared/sha256.js';
import { sql } from 'drizzle-orm';
import { openDatabase, queryRows, type Database, type DatabaseHandle } from '../../server/db/database.js';
import { selectChainSlice } from '../../server/db/integrityStore.js';
import { EventWriter } from '../../server/db/eventWriter.js';
import { recordEvents } from '../../server/services/events.js';
import { toBase64 } from '../../shared/base64.js';
import { formatCheckpoint } from '../../shared/signedNote.js';
import { eventInclusionProof, integrateEvents, treeConsistencyProof, treeLogOf, treeRoot, type TreeLog } from '../../server/services/merkleTree.js';
import { generateInsertSql } from './generate.js';
import { timeSyncsInChromium } from './witnessInBrowser.js';
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
    /** Node hashes (SHA-256 of 65 bytes, node:crypto) per second: the integrator's hashing, one per leaf. */
    nodeHashesPerSec: number;
  };
  /** The large tree of synthetic leaves: integrated by the real integrator, then proofs and browser syncs on it. */
  large: {
    leaves: number;
    /** Time to generate the events (SQL), for the record. */
    generateSeconds: number;
    integrationSeconds: number;
    leavesPerSec: number;
    leavesPerCpuSec: number;
    calls: number;
    inclusion: ProofTimes;
    consistency: ProofTimes;
    browserSyncs: number;
    browser: { p50: number; p95: number; max: number } | null;
    browserError?: string;
  };
  ingest: { rows: number; rounds: number; withTreeRowsPerSec: number; withoutTreeRowsPerSec: number; cost: number; treeLagMs: number };
  proofs: { treeSize: number; calls: number; inclusion: ProofTimes; consistency: ProofTimes };
  /** 1-minute load average at the start and the end: other work on the machine shows in every figure. */
  load: { start: number; end: number };
}

/** A proof's wall time (ms) and this process's CPU per proof (ms: the server's share; Postgres's not counted). */
export interface ProofTimes {
  p50: number;
  p95: number;
  cpuMs: number;
}

export interface MerkleBenchOptions {
  /** Events integrated for the throughput and proof figures. */
  treeRows: number;
  /** Events per ingest round, and rounds of each kind. */
  ingestRows: number;
  rounds: number;
  proofCalls: number;
  concurrency: number;
  /** Events of the large tree (synthetic leaf hashes). */
  largeTreeRows: number;
  /** Syncs timed in Chromium (after 20 of warm-up). */
  browserSyncs: number;
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
    const left = Buffer.alloc(32, 1);
    const right = Buffer.alloc(32, 2);
    const node = Buffer.from([1]);
    t = now();
    for (let k = 0; k < bytes.length; k++) createHash('sha256').update(node).update(left).update(right).digest();
    const nodeHashesPerSec = bytes.length / ((now() - t) / 1000);
    integration = {
      leaves: options.treeRows,
      seconds,
      leavesPerSec: options.treeRows / seconds,
      leavesPerCpuSec: options.treeRows / cpuSeconds,
      rawSha256LeavesPerSec,
      nodeSha256LeavesPerSec,
      nodeHashesPerSec,
    };

    // Proof latency, as the service computes them (database reads included).
    const ids = rows.map((r) => r.id);
    proofs = { treeSize: options.treeRows, calls: options.proofCalls, ...(await timeProofs(tree.handle.db, ids, options.treeRows, options.proofCalls)) };
  } finally {
    await tree.drop();
  }

  const large = await largeTree(adminUrl, log_, options);

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
    large,
    load: { start: loadAtStart, end: os.loadavg()[0]! },
  };
}

/** Unmeasured calls of each kind first: more than every pooled connection needs to plan its prepared statements once. */
const PROOF_WARMUP = 100;

/**
 * Inclusion proofs of events drawn from `ids` and consistency proofs from random sizes, all in the
 * tree of `size` leaves, alternated, as a running server answers them: its tables
 * vacuumed and analyzed (a bulk load leaves that to autovacuum, which would otherwise run
 * during the measurement) and its connections warmed up.
 */
async function timeProofs(db: Database, ids: string[], size: number, calls: number): Promise<{ inclusion: ProofTimes; consistency: ProofTimes }> {
  await db.execute(sql`vacuum (analyze) audit_events, merkle_tiles, merkle_removed_events`);
  const inclusion: number[] = [];
  const consistency: number[] = [];
  let inclusionCpu = 0;
  let consistencyCpu = 0;
  const cpuMsSince = (start: NodeJS.CpuUsage) => {
    const used = process.cpuUsage(start);
    return (used.user + used.system) / 1000;
  };
  for (let i = -PROOF_WARMUP; i < calls; i++) {
    const id = ids[Math.floor(Math.random() * ids.length)]!;
    const from = 1 + Math.floor(Math.random() * (size - 1));
    let cpu = process.cpuUsage();
    let s = now();
    await eventInclusionProof(db, id, size);
    const inclusionMs = now() - s;
    const inclusionCpuMs = cpuMsSince(cpu);
    cpu = process.cpuUsage();
    s = now();
    await treeConsistencyProof(db, from, size);
    const consistencyMs = now() - s;
    if (i < 0) continue;
    inclusion.push(inclusionMs);
    consistency.push(consistencyMs);
    inclusionCpu += inclusionCpuMs;
    consistencyCpu += cpuMsSince(cpu);
  }
  const times = (samples: number[], cpuMs: number): ProofTimes => ({ p50: percentile(samples, 50), p95: percentile(samples, 95), cpuMs: cpuMs / calls });
  return { inclusion: times(inclusion, inclusionCpu), consistency: times(consistency, consistencyCpu) };
}

const GENERATE_CHUNK = 1_000_000;

/**
 * A tree of `largeTreeRows` events generated in SQL with synthetic leaf hashes (the
 * filter indexes dropped: the tree reads by seq and finds events by id only), integrated
 * by the real integrator; then proof latency and the browser's verification per sync on it.
 */
async function largeTree(adminUrl: string, treeLog: TreeLog, options: MerkleBenchOptions): Promise<MerkleBenchResult['large']> {
  const n = options.largeTreeRows;
  const db = await scratch(adminUrl, 'vigil_bench_merkle_large');
  try {
    const { db: d } = db.handle;
    const filterIndexes = await queryRows<{ name: string }>(
      d,
      sql`select indexname as name from pg_indexes where tablename = 'audit_events' and indexname like 'audit_events_%_time_idx'`,
    );
    for (const { name } of filterIndexes) await d.execute(sql.raw(`drop index ${name}`));
    let started = now();
    for (let from = 1; from <= n; from += GENERATE_CHUNK) {
      const to = Math.min(n, from + GENERATE_CHUNK - 1);
      log(`merkle: generating events ${int(from)}-${int(to)} of ${int(n)}`);
      await d.execute(sql.raw(generateInsertSql({ from, to, total: n, endIso: '2026-12-01T00:00:00.000Z', spanDays: 365, hashColumn: true, leafHashColumn: true })));
    }
    await d.execute(sql`analyze audit_events`);
    const generateSeconds = (now() - started) / 1000;
    log(`merkle: integrating ${int(n)} synthetic leaves`);
    started = now();
    const cpu = process.cpuUsage();
    await integrateEvents(d, { batchSize: 10_000 });
    const integrationSeconds = (now() - started) / 1000;
    const used = process.cpuUsage(cpu);

    const calls = options.proofCalls;
    const seqs = Array.from({ length: calls }, () => 1 + Math.floor(Math.random() * n));
    const ids = (await queryRows<{ id: string }>(d, sql`select id from audit_events where seq = any(${`{${seqs.join(',')}}`}::bigint[])`)).map((r) => r.id);
    log(`merkle: ${int(calls)} proofs of each kind on ${int(n)} leaves`);
    const { inclusion, consistency } = await timeProofs(d, ids, n, calls);

    // Each sync: a head held from earlier (random size), the latest, and the proof between.
    log(`merkle: ${options.browserSyncs} syncs verified in Chromium`);
    const headAt = async (size: number) => {
      const rootHash = await treeRoot(d, size);
      return { treeSize: size, rootHash: toBase64(rootHash), note: await treeLog.sign(formatCheckpoint({ origin: treeLog.origin, treeSize: size, rootHash, extensions: [] })), verifierKey: treeLog.verifierKey };
    };
    const latest = await headAt(n);
    const cases = [];
    for (let i = 0; i < options.browserSyncs; i++) {
      const held = await headAt(1 + Math.floor(Math.random() * (n - 1)));
      cases.push({ held, received: latest, proof: (await treeConsistencyProof(d, held.treeSize, n)).proof });
    }
    let browser: MerkleBenchResult['large']['browser'] = null;
    let browserError: string | undefined;
    try {
      const times = await timeSyncsInChromium(cases, 20);
      browser = { p50: percentile(times, 50), p95: percentile(times, 95), max: Math.max(...times) };
    } catch (error) {
      browserError = (error as Error).message;
    }
    return {
      leaves: n,
      generateSeconds,
      integrationSeconds,
      leavesPerSec: n / integrationSeconds,
      leavesPerCpuSec: n / ((used.user + used.system) / 1e6),
      calls,
      inclusion,
      consistency,
      browserSyncs: options.browserSyncs,
      browser,
      ...(browserError ? { browserError } : {}),
    };
  } finally {
    await db.drop();
  }
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
    `| tree integration (${int(i.leaves)} events written by the event writer: their stored leaf hashes read, node hashes, tiles written) | ${int(i.leavesPerSec)} leaves/s; ${int(i.leavesPerCpuSec)} per CPU-second of the server process (Postgres's CPU not counted) | ≥ 100,000 leaves/s |`,
    `| SHA-256 of the same leaf bytes (canonical forms) alone, node:crypto: what the event writer now does per event at ingest | ${int(i.nodeSha256LeavesPerSec)} leaves/s (integration at ${ratio(i.leavesPerSec / i.nodeSha256LeavesPerSec)}) | |`,
    `| SHA-256 of the same leaf bytes alone, @noble/hashes (shared/sha256.ts: the extension's) | ${int(i.rawSha256LeavesPerSec)} leaves/s | |`,
    `| ingest with the integrator running / without (median of ${r.ingest.rounds} rounds each, ${int(r.ingest.rows)} events) | ${int(r.ingest.withTreeRowsPerSec)} / ${int(r.ingest.withoutTreeRowsPerSec)} rows/s: cost ${(r.ingest.cost * 100).toFixed(1)}% | ≤ 15% |`,
    `| tree behind at the end of an ingest round (time to settle) | ${ms(r.ingest.treeLagMs)} | ≤ 1 s |`,
    `| node hashes alone, node:crypto (the integrator's hashing: one per leaf) | ${int(i.nodeHashesPerSec)} /s | |`,
    `| inclusion proof, service (${int(r.proofs.calls)} calls, tree of ${int(r.proofs.treeSize)}; tables vacuumed, ${PROOF_WARMUP} calls of warm-up) | p50 ${ms(r.proofs.inclusion.p50)}, p95 ${ms(r.proofs.inclusion.p95)}; ${ms(r.proofs.inclusion.cpuMs)} CPU of the server process per proof | p95 ≤ 2 ms |`,
    `| consistency proof, service | p50 ${ms(r.proofs.consistency.p50)}, p95 ${ms(r.proofs.consistency.p95)}; ${ms(r.proofs.consistency.cpuMs)} CPU per proof | p95 ≤ 2 ms |`,
    `| large tree: integration of ${int(r.large.leaves)} synthetic leaves (generated in ${r.large.generateSeconds.toFixed(0)} s) | ${int(r.large.leavesPerSec)} leaves/s (${r.large.integrationSeconds.toFixed(1)} s); ${int(r.large.leavesPerCpuSec)} per CPU-second of the server process | ≥ 100,000 leaves/s |`,
    `| large tree: inclusion proof, service (${int(r.large.calls)} calls; tables vacuumed, ${PROOF_WARMUP} calls of warm-up) | p50 ${ms(r.large.inclusion.p50)}, p95 ${ms(r.large.inclusion.p95)}; ${ms(r.large.inclusion.cpuMs)} CPU of the server process per proof | p95 ≤ 2 ms |`,
    `| large tree: consistency proof, service | p50 ${ms(r.large.consistency.p50)}, p95 ${ms(r.large.consistency.p95)}; ${ms(r.large.consistency.cpuMs)} CPU per proof | p95 ≤ 2 ms |`,
    r.large.browser
      ? `| extension's verification per sync, Chromium (signed note + consistency proof, ${r.large.browserSyncs} syncs) | p50 ${ms(r.large.browser.p50)}, p95 ${ms(r.large.browser.p95)}, max ${ms(r.large.browser.max)} | ≤ 10 ms |`
      : `| extension's verification per sync, Chromium | not measured: ${r.large.browserError} | ≤ 10 ms |`,
    '',
  ].join('\n');
}
