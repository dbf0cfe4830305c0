// The Notes section of BENCHMARKS.md: what the figures mean. Every figure is computed from
// the results; the explanations come from the plans (.bench-data/plans-*.txt) and the
// server CPU profiles of the runs.
import type { IngestResult } from './ingest.js';
import type { ListCaseResult, ListResult, PagePoint } from './list.js';
import type { ProfileResult } from './profile.js';
import type { BenchResults } from './report.js';
import { int, ms, ratio } from './util.js';

const TARGET_MS = 5;

/** Changes these benchmarks led to, with the figures that showed the need (dated: not re-measured). */
const HISTORY = [
  '- **Changes made from these figures.** (1) Migration 0005 (covering text indexes): on 2026-11-21 07:07, before it, ' +
    'the text-filter pages on 10M events took 35-166 ms through tRPC (p50; resource_target 129 ms, resource_id 138 ms, ' +
    'username 41 ms, email 39 ms), all in the capped count reading heap rows; with each `lower()` index INCLUDing its column ' +
    'the count is an index-only scan and those pages fall in line with the others. (2) `eventsPageQuery` ' +
    '(server/db/auditEventsStore.ts) leaves out the `date_to` bound when the cursor already implies it: with both, ' +
    'PGlite (Postgres 18) started the backward scan at `date_to` and walked down to the cursor, 949 buffers and 7.5 ms at ' +
    'depth 246,075 of 1M against 6 buffers without it; Postgres 15 was not affected. (3) The capped count is taken ' +
    'with the first page and carried by the cursor, so deep pages no longer count. (4) Audit log lines skip pino\'s ' +
    'wildcard redaction: on 2026-11-21 07:38 logging took 25.3 ms of the server\'s 62.7 ms of CPU per 1000 ingested events.',
  '- **Changes in the second session** (2026-11-21, from 13,210 rows/s = 0.36x of COPY and list p50s of 5-8 ms through ' +
    'tRPC). (5) The ingest benchmark\'s 4 senders shared one typed client, whose batch link merged their calls into one ' +
    'request: it measured one client in lockstep; each sender now has its own client. (6) Migration 0006: a write is one ' +
    'round trip (`vigil_append_events` takes the lock, checks the chain head the writer expects, inserts); it was six ' +
    'under the lock, each waiting for the busy event loop. (7) Audit log lines are built per batch from the row JSON made ' +
    'for the insert (pino per call was ~11 ms of the server\'s ~40 ms per 1000 events); times already canonical skip the ' +
    'Date round trip. Quick runs (50,000 rows): 13-15k rows/s before (5)-(7), 17-19.5k after. (8) Migration 0007: the ' +
    'two-filter count, 62.5 ms (heap) before, is index-only. (9) Postgres builds the listed events as JSON (decoding ' +
    'them was 1.2 of the server\'s 3.4 ms per list call), and the list benchmark\'s client does not batch (the batch ' +
    'link waits a timer tick, at least 1 ms).',
  '- **Changes in the third session** (2026-11-21, from 0.49x of COPY). (10) Two writes under way at once on Postgres ' +
    '(server/db/groupCommit.ts, auditEventsStore.ts): the single group-commit writer was never idle, yet Postgres held ' +
    'the writers\' lock for only ~70% of its time (69 ms per 1000 events per call, 50 ms of it inside ' +
    '`vigil_append_events`); the rest was the next write being sent and each answer waiting for the busy event loop. ' +
    'The next write is now sent chained from the hash the previous one will leave, and waits at the lock. A/B on one ' +
    'machine, alternating rounds of 24,000 events from 4 clients: 14.5k rows/s with one write in flight, 18.6k with ' +
    'two. (11) After a refusal for a moved head (another process wrote), one write at a time for 2 s: with 2 server ' +
    'processes, two in flight had cost 6% (14.9k against 14.0k); now equal. Parsing the JSON before the lock (tried as ' +
    'a variant of the function) showed no gain through the noise and was left out.',
];

function median(values: number[]): number {
  const s = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (!s.length) return NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function pointsOf(list: ListResult): { c: ListCaseResult; p: PagePoint }[] {
  return list.cases.flatMap((c) => [{ c, p: c.first }, ...(c.deep ? [{ c, p: c.deep }] : [])]);
}

const TEXT_FILTERS = ['resource_target', 'username', 'email', 'request_id', 'resource_id'];
const PLAIN_FILTERS = ['action', 'resource_type', 'date_from', 'date_to', 'since'];

/** Filters on more than one field. */
function isCombined(c: ListCaseResult): boolean {
  const fields = new Set(
    c.q
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map((t) => t.replace(/^-/, '').split(':')[0]),
  );
  return fields.size > 1 && !(fields.size === 2 && fields.has('date_from') && fields.has('date_to'));
}

/** One lower(column) filter (served by an expression index). */
function isText(c: ListCaseResult): boolean {
  return !isCombined(c) && TEXT_FILTERS.some((f) => c.q.includes(`${f}:`));
}

/** No filter, or filters on plain columns only (action, resource_type, time). */
function isPlain(c: ListCaseResult): boolean {
  return !isText(c) && !isCombined(c) && (c.q === '' || c.q.split(/\s+/).every((t) => PLAIN_FILTERS.some((f) => t.replace(/^-/, '').startsWith(`${f}:`))));
}

function share(profile: ProfileResult | undefined, match: RegExp): number {
  if (!profile) return NaN;
  return profile.components.filter((c) => match.test(c.name)).reduce((a, c) => a + c.msPerCall, 0);
}

function kinds(points: { c: ListCaseResult }[]): string {
  return [...new Set(points.map((x) => x.c.kind))].join(', ');
}

function ingestNotes(ingest: IngestResult): string[] {
  const name = ingest.backend === 'postgres' ? 'Postgres' : 'PGlite';
  const http = median(ingest.rounds.map((r) => r.http.rowsPerSec));
  const copy = median(ingest.rounds.map((r) => r.copy));
  const noIndex = median(ingest.rounds.map((r) => r.copyNoIndex));
  const out = [
    `- **${name} ingest: ${ratio(http / copy)} of COPY.** Raw COPY into a table with audit_events' 10 indexes runs at ` +
      `${int(copy)} rows/s, against ${int(noIndex)} rows/s into the same table without indexes: maintaining 8 composite ` +
      `btrees, the uuid key and the primary key is most of what an event costs the database, and the same indexes are ` +
      `what keeps every list filter fast. Through HTTP the same rows went in at ${int(http)} rows/s.`,
  ];
  const cpuRounds = ingest.rounds.filter((r) => r.http.cpu && r.copyCpu !== undefined);
  if (cpuRounds.length) {
    const client = median(cpuRounds.map((r) => r.http.cpu!.client));
    const server = median(cpuRounds.map((r) => r.http.cpu!.server));
    const pg = median(cpuRounds.map((r) => r.http.cpu!.postgres));
    const copyCpu = median(cpuRounds.map((r) => r.copyCpu!));
    out.push(
      `  - In CPU, 1000 events cost ${ms(copyCpu)} of Postgres through COPY, and ${ms(client + server + pg)} through HTTP: ` +
        `${ms(pg)} in Postgres (the insert from one JSON parameter, the idempotency check, the chain head, ip ` +
        `normalisation), ${ms(server)} in the server, ${ms(client)} in the clients. With 2 cores for all of it, CPU per ` +
        `event bounds the rate: the server's (below), and the insert's ${ms(pg - copyCpu)} of Postgres work per 1000 ` +
        `events beyond what COPY spends (mostly parsing the one JSON parameter).`,
    );
  }
  const p = ingest.profile;
  if (p) {
    const logging = share(p, /logging/);
    const vigil = share(p, /Vigil code/);
    const zod = share(p, /zod/);
    out.push(
      `  - Where a batch of 1000 goes in the server (CPU profile above): ${ms(p.cpuMsPerCall)} of CPU per batch, of which ` +
        `${ms(logging)} is logging — the \`audit_log\` JSON line written for every stored event and the request log — ` +
        `${ms(vigil)} Vigil's own code (mostly the hash chain: ` +
        `canonical JSON and SHA-256 per event, and building the insert payload) and ${ms(zod)} zod validation. The ` +
        `database work (the insert into 10 indexes, under the write lock that keeps seq in commit order and the chain ` +
        `linear) runs beside it in Postgres, with two writes under way so the lock is handed straight on.`,
    );
  }
  const warn = ingest.variants.find((v) => v.variant.logLevel);
  const two = ingest.variants.find((v) => (v.variant.servers ?? 1) > 1);
  const one = ingest.variants.find((v) => v.variant.concurrency === 1 && !v.variant.logLevel && (v.variant.servers ?? 1) === 1);
  const eight = ingest.variants.find((v) => v.variant.concurrency === 8);
  if (warn || two || one || eight) {
    out.push(
      '  - Other configurations: ' +
        [
          one && `one client ${int(one.run.rowsPerSec)} rows/s`,
          eight && `eight clients ${int(eight.run.rowsPerSec)} rows/s`,
          warn && `no log lines (LOG_LEVEL=warn) ${int(warn.run.rowsPerSec)} rows/s (${ratio(warn.run.rowsPerSec / copy)} of COPY)`,
          two && `two server processes on one database ${int(two.run.rowsPerSec)} rows/s`,
        ]
          .filter(Boolean)
          .join('; ') +
        '. On 2 cores shared by the client, the server and Postgres, more clients or processes do not add CPU.',
    );
  }
  return out;
}

function listNotes(list: ListResult): string[] {
  const out: string[] = [];
  const name = list.backend === 'postgres' ? 'Postgres' : 'PGlite';
  const pts = pointsOf(list);
  const deep = list.cases.filter((c) => c.deep);
  const flat = median(deep.map((c) => (c.deep!.pageOnly?.p50 ?? NaN) / (c.first.pageOnly?.p50 ?? NaN)));
  const coderGrowth = median(deep.map((c) => c.deep!.coder.p50 / c.first.coder.p50));
  const pageMs = median(pts.map((x) => x.p.pageOnly?.p50 ?? NaN));
  out.push(
    `- **${name}, ${int(list.rows)} events: depth costs us nothing.** A deep page's query takes ${ratio(flat)} the time ` +
      `of a first page's (median, "page query" column), because the cursor is a keyset: the page query walks a (filter, time, seq) index backwards ` +
      `from the cursor, ${ms(pageMs)} (median) at any depth (the "page query" column). The Coder-style query pays for every ` +
      `skipped row (OFFSET) and for an exact count of all matches: its deep pages cost ${ratio(coderGrowth)} its first ` +
      `pages (median) and its count grows with the match count.` +
      (list.window.length
        ? ` Coder's original single query with \`count(*) OVER ()\` took ${list.window.map((w) => ms(w.ms)).join(' and ')} ` +
          `without a filter (their issue #17689).`
        : ''),
  );

  const plain = pts.filter((x) => isPlain(x.c));
  const plainSqlP95 = Math.max(...plain.map((x) => x.p.oursSql.p95));
  const plainTrpcP95 = median(plain.map((x) => x.p.oursTrpc?.p95 ?? NaN));
  const proc = median(plain.map((x) => x.p.serverProcedureMs ?? NaN));
  const httpMs = median(plain.map((x) => x.p.serverHttpMs ?? NaN));
  const client = median(plain.map((x) => x.p.oursTrpc?.p50 ?? NaN));
  const sql = median(plain.map((x) => x.p.oursSql.p50));
  const missed = pts.filter((x) => (x.p.oursTrpc?.p95 ?? Infinity) >= TARGET_MS);
  out.push(
    `- **${name}: the 5 ms p95 target.** ${pts.length - missed.length} of ${pts.length} pages meet it through tRPC. ` +
      `What stands in the way:`,
  );
  const text = pts.filter((x) => isText(x.c) && x.c.count && x.c.count.p50 > TARGET_MS);
  if (text.length) {
    out.push(
      `  - **Capped counts on text filters** (${kinds(text)}): \`countEventsCapped\` counts up to 10,001 matches on every ` +
        `page. Their indexes are on \`lower(column)\`, and Postgres cannot answer a query from an expression index alone ` +
        `(an index-only scan needs the column itself in the index), so it reads the heap row of each match it counts — ` +
        `up to 10,001 rows spread over the table, ${ms(Math.min(...text.map((x) => x.c.count!.p50)))} to ` +
        `${ms(Math.max(...text.map((x) => x.c.count!.p50)))} (p50, "capped count" column). Counts on plain columns ` +
        `(action, resource_type, time) are index-only scans, ${ms(Math.min(...plain.map((x) => x.c.count?.p50 ?? Infinity)))}–` +
        `${ms(Math.max(...plain.map((x) => x.c.count?.p50 ?? 0)))}.`,
    );
  }
  const twoFields = list.cases.filter((c) => isCombined(c));
  if (twoFields.length) {
    const c = twoFields[0]!;
    out.push(
      `  - **Counts on filters over two columns** (${c.kind}): the username index carries action (migration 0007), so the ` +
        `count reads the index alone, but it walks every event of the user until 10,001 match the action: ` +
        `${ms(c.count?.p50 ?? NaN)} to 10,001, ${ms(c.count2k?.p50 ?? NaN)} to 2,001 (p50). Only the first page pays it: ` +
        `deeper pages carry the count in their cursor (deep page: ${ms(c.deep?.oursTrpc?.p50 ?? NaN)} p50 through tRPC). ` +
        `A composite (user, action, time) index would make it a direct range; it is not built (an 11th index on every insert).`,
    );
  }
  out.push(
    `  - **The HTTP + tRPC path itself.** For no filter and plain-column filters our SQL (what listEvents runs) ` +
      `takes ${ms(sql)} p50 and at most ${ms(plainSqlP95)} p95, but the same pages through tRPC take ${ms(client)} p50 and ` +
      `${ms(plainTrpcP95)} p95 (medians). The server's own metrics put ${ms(proc)} in the procedure and ${ms(httpMs)} in the ` +
      `whole HTTP request (means); the rest is the client (undici fetch, JSON) and the scheduling of three processes ` +
      `(client, server, Postgres) on 2 cores.` +
      (plain.some((x) => x.p.cpuServerMs !== undefined)
        ? ` In CPU, one call costs ${ms(median(plain.map((x) => x.p.cpuClientMs ?? NaN)))} in the client, ` +
          `${ms(median(plain.map((x) => x.p.cpuServerMs ?? NaN)))} in the server` +
          (list.backend === 'postgres' ? ` and ${ms(median(plain.map((x) => x.p.cpuPostgresMs ?? NaN)))} in Postgres` : '') +
          ` (medians): mostly one after the other, so a p95 under 5 ms leaves no room for scheduling on a shared 2-core machine.`
        : '') +
      (list.profile
        ? ` The server spends ${ms(list.profile.cpuMsPerCall)} of CPU per call (profile above): ` +
          list.profile.components
            .slice(0, 4)
            .map((c) => `${c.name} ${ms(c.msPerCall)}`)
            .join(', ') +
          (list.backend === 'postgres'
            ? ` — Postgres builds the page as one JSON text, so the driver's share is mostly its socket writes: a ` +
              `function-level profile (2026-11-21) put 0.47 ms per call in writes to Postgres' sockets (two queries for a ` +
              `first page), on this virtual machine the dearest thing a call does; then tRPC's Fetch-API request and ` +
              `response objects, and Node's HTTP.`
            : ` — here the SQL itself runs in the server's thread.`)
        : ''),
  );
  if (list.backend === 'pglite') {
    out.push(
      '  - PGlite has one connection, so the page and the count run one after the other instead of in parallel, in ' +
        'the server\'s own thread, and WebAssembly runs the same plans slower than native Postgres.',
    );
  }

  if (list.backend === 'postgres') {
    const c10 = median(list.cases.map((c) => c.count?.p50 ?? NaN));
    const c2 = median(list.cases.map((c) => c.count2k?.p50 ?? NaN));
    out.push(
      `- **Possible count changes** (services/events.ts, not benchmark code): (a) cap at 2,000 like Coder ("2,000+") ` +
        `instead of the 10,000 PRODUCT.md sets (a product decision): the median capped count goes from ${ms(c10)} to ${ms(c2)}, and the two-column filter from ` +
        `${ms(twoFields[0]?.count?.p50 ?? NaN)} to ${ms(twoFields[0]?.count2k?.p50 ?? NaN)}; (b) or serve the count from its ` +
        `own procedure that the UI calls beside the first page, so a slow count never delays a page. (Counting only on the ` +
        `first page and carrying the count in the cursor is done.)`,
    );
  }
  return out;
}

export function notes(results: BenchResults): string[] {
  const out: string[] = [];
  const pgList = results.list.find((r) => r.backend === 'postgres' && !r.variant);
  const liteList = results.list.find((r) => r.backend === 'pglite' && !r.variant);
  const order = (b: string) => (b === 'postgres' ? 0 : 1);
  for (const ingest of [...results.ingest].sort((a, b) => order(a.backend) - order(b.backend))) out.push(...ingestNotes(ingest));
  if (pgList) out.push(...listNotes(pgList));
  if (liteList) out.push(...listNotes(liteList));
  out.push(...HISTORY);
  out.push(
    '- **Caveats.** Warm caches (the 10M-event table, ~8 GB with its indexes, sits in the OS page cache; shared_buffers ' +
      'is the stock 128 MB). The machine is shared: other work ran during the run (load averages above, † marks), which ' +
      'inflates p95s most. The generated table was VACUUMed after its load, so its visibility map is all set; in a live ' +
      'table the newest pages become all-visible only when autovacuum passes, and an index-only count reaching them ' +
      'visits the heap (a capped count reads the oldest matches first, so this rarely matters). Generated rows carry a ' +
      'placeholder `hash` (right size, not a valid chain; nothing here verifies it).',
  );
  return out;
}
