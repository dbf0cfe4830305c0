import postgres from 'postgres';
import { generateInsertSql } from './generate.js';
const url = 'postgres://postgres@127.0.0.1:5432/vigil_bench_try';
const sql = postgres(url, { max: 1, onnotice: () => {} });
const n = Number(process.argv[2] ?? 100000);
await sql`truncate audit_events restart identity`;
const idx = await sql`select indexname, indexdef from pg_indexes where tablename = 'audit_events' and indexname not in ('audit_events_pkey')`;
const cons = await sql`select conname, pg_get_constraintdef(oid) def from pg_constraint where conrelid = 'audit_events'::regclass and contype in ('u')`;
for (const c of cons) await sql.unsafe(`alter table audit_events drop constraint ${c.conname}`);
for (const i of idx) await sql.unsafe(`drop index if exists ${i.indexname}`);
let t0 = performance.now();
await sql.unsafe(generateInsertSql({ from: 1, to: n, total: n, endIso: new Date().toISOString(), spanDays: 365 }));
console.log('insert', n, (performance.now() - t0).toFixed(0), 'ms');
await sql`set maintenance_work_mem = '1GB'`;
await sql`set max_parallel_maintenance_workers = 2`;
for (const c of cons) { t0 = performance.now(); await sql.unsafe(`alter table audit_events add constraint ${c.conname} ${c.def}`); console.log(c.conname, (performance.now() - t0).toFixed(0)); }
for (const i of idx) { if (cons.some((c) => c.conname === i.indexname)) continue; t0 = performance.now(); await sql.unsafe(i.indexdef); console.log(i.indexname, (performance.now() - t0).toFixed(0)); }
t0 = performance.now();
await sql`vacuum analyze audit_events`;
console.log('vacuum', (performance.now() - t0).toFixed(0));
await sql.end();
