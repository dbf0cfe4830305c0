// Prometheus metrics (prom-client), served at GET /metrics. One registry per process:
// every app a process serves (tests start several) adds to the same series.
//
//   vigil_events_recorded_total{action}                  events stored (not replays)
//   vigil_events_duplicate_total                          replayed ids answered as duplicates
//   vigil_trpc_procedure_duration_seconds{procedure,type,code}   per tRPC procedure
//   vigil_http_request_duration_seconds{method,route,status}     every HTTP request
//   vigil_live_subscribers{transport}                     open live subscriptions (liveSubscriberOpened/Closed)
//   vigil_live_events_encoded_total                       events JSON-encoded for live subscriptions (once per query per read)
//   vigil_live_events_sent_total{transport}               events handed to live subscriptions (each subscriber counts)
//   vigil_exports_total{format,outcome} / vigil_export_rows_total{format}
//   vigil_database_info{kind} 1 / vigil_database_pool_max{kind}
//   vigil_sink_delivered_total{sink} / vigil_sink_errors_total{sink}   by this process
//   vigil_sink_lag_events{sink}                           events recorded after the sink's cursor (read at scrape)
//   vigil_retention_held_events                           old events retention keeps because a sink has not delivered them
//   process_* and nodejs_* (prom-client's default metrics: memory, CPU, event loop lag)
import type { RequestHandler } from 'express';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { databaseKindOf, type Database } from './db/database.js';
import { selectSinkLags } from './db/sinksStore.js';

export const registry = new Registry();
collectDefaultMetrics({ register: registry });

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120];

export const eventsRecorded = new Counter({
  name: 'vigil_events_recorded_total',
  help: 'Audit events stored, by action (idempotent replays are not counted).',
  labelNames: ['action'] as const,
  registers: [registry],
});

export const eventsDuplicate = new Counter({
  name: 'vigil_events_duplicate_total',
  help: 'Events sent again with an id already stored (answered as duplicates, stored once).',
  registers: [registry],
});

export const procedureDuration = new Histogram({
  name: 'vigil_trpc_procedure_duration_seconds',
  help: 'Time spent in each tRPC procedure, by procedure path, type and result code.',
  labelNames: ['procedure', 'type', 'code'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [registry],
});

export const httpDuration = new Histogram({
  name: 'vigil_http_request_duration_seconds',
  help: 'HTTP request latency, by method, route (/trpc, /export, ...) and status.',
  labelNames: ['method', 'route', 'status'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [registry],
});

export const liveSubscribers = new Gauge({
  name: 'vigil_live_subscribers',
  help: 'Open live-event subscriptions, by transport.',
  labelNames: ['transport'] as const,
  registers: [registry],
});

export const exportsTotal = new Counter({
  name: 'vigil_exports_total',
  help: 'Exports served, by format and outcome (completed, aborted by the client, failed).',
  labelNames: ['format', 'outcome'] as const,
  registers: [registry],
});

export const exportRows = new Counter({
  name: 'vigil_export_rows_total',
  help: 'Rows read from the database for exports (counted as each chunk is read).',
  labelNames: ['format'] as const,
  registers: [registry],
});

export const sinkDelivered = new Counter({
  name: 'vigil_sink_delivered_total',
  help: 'Events a sink took, by sink name (counted by the process that delivered them).',
  labelNames: ['sink'] as const,
  registers: [registry],
});

export const sinkErrors = new Counter({
  name: 'vigil_sink_errors_total',
  help: 'Failed delivery attempts, by sink name (each is retried with backoff).',
  labelNames: ['sink'] as const,
  registers: [registry],
});

export const retentionHeldEvents = new Gauge({
  name: 'vigil_retention_held_events',
  help: 'Events past the retention period that retention keeps because a sink has not delivered them yet.',
  registers: [registry],
});

export const liveEventsEncoded = new Counter({
  name: 'vigil_live_events_encoded_total',
  help: 'Events JSON-encoded for live subscriptions: once per query per read, however many subscribers share the query.',
  registers: [registry],
});

export const liveEventsSent = new Counter({
  name: 'vigil_live_events_sent_total',
  help: 'Events handed to live subscriptions, each subscriber counted, by transport.',
  labelNames: ['transport'] as const,
  registers: [registry],
});

/** Live subscriptions, counted as they come and go (the events.live procedure). */
export function liveSubscriberOpened(transport: string): void {
  liveSubscribers.inc({ transport });
}
export function liveSubscriberClosed(transport: string): void {
  liveSubscribers.dec({ transport });
}

// The database this process serves, described from the drizzle handle's client.
const databases = new Set<Database>();


new Gauge({
  name: 'vigil_database_info',
  help: 'The database in use (kind: postgres or pglite); always 1.',
  labelNames: ['kind'] as const,
  registers: [registry],
  collect() {
    this.reset();
    for (const db of databases) this.set({ kind: databaseKindOf(db).kind }, 1);
  },
});

new Gauge({
  name: 'vigil_database_pool_max',
  help: 'Most database connections the server opens (postgres.js pool size; 1 for PGlite).',
  labelNames: ['kind'] as const,
  registers: [registry],
  collect() {
    this.reset();
    for (const db of databases) {
      const { kind, poolMax } = databaseKindOf(db);
      this.set({ kind }, poolMax);
    }
  },
});

new Gauge({
  name: 'vigil_sink_lag_events',
  help: "Events recorded after a sink's delivery cursor, by sink name.",
  labelNames: ['sink'] as const,
  registers: [registry],
  async collect() {
    this.reset();
    for (const db of databases) {
      for (const lag of await selectSinkLags(db).catch(() => [])) this.set({ sink: lag.name }, lag.events);
    }
  },
});

/** Counts every HTTP request once it is answered (or abandoned), by its route family. */
export function httpMetrics(): RequestHandler {
  return (req, res, next) => {
    const end = httpDuration.startTimer();
    // Read now: inside a mounted router (/trpc) req.path loses its prefix.
    const route = routeOf(req.path);
    let done = false;
    const observe = () => {
      if (done) return;
      done = true;
      end({ method: req.method, route, status: String(res.statusCode) });
    };
    res.once('finish', observe);
    res.once('close', observe);
    next();
  };
}

const KNOWN_ROUTES = ['/trpc', '/export', '/metrics', '/healthz', '/integrity/public-key', '/live', '/events'];

/** A bounded label: the known route a path falls under, else "other" (no label per URL). */
function routeOf(path: string): string {
  return KNOWN_ROUTES.find((r) => path === r || path.startsWith(`${r}/`)) ?? 'other';
}

/** GET /metrics in the Prometheus text format. */
export function metricsHandler(db: Database): RequestHandler {
  databases.add(db);
  return async (_req, res) => {
    try {
      res.set('content-type', registry.contentType).send(await registry.metrics());
    } catch (error) {
      res.status(500).type('text/plain').send(`metrics failed: ${(error as Error).message}\n`);
    }
  };
}
