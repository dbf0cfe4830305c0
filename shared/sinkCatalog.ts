// Sinks stream the audit trail to a SIEM. What each kind accepts (URL schemes, formats,
// whether it needs a secret) and every state a sink can show are named here, once: the
// server validates with it and the extension shows it.

export const SINK_FORMATS = ['vigil', 'ocsf', 'cef'] as const;
export type SinkFormat = (typeof SINK_FORMATS)[number];

export interface SinkKindDefinition {
  label: string;
  /** URL schemes the kind speaks (without the colon). */
  schemes: readonly string[];
  formats: readonly SinkFormat[];
  /** What the secret is for; null: the kind takes none. */
  secret: string | null;
  /** Largest batch the receiver accepts in one request. */
  maxBatchSize: number;
}

export const SINK_KINDS = {
  syslog: {
    label: 'Syslog (RFC 5424)',
    schemes: ['tcp', 'tls', 'udp'],
    formats: ['vigil', 'ocsf', 'cef'],
    secret: null,
    maxBatchSize: 5000,
  },
  webhook: {
    label: 'Webhook (NDJSON)',
    schemes: ['http', 'https'],
    formats: ['vigil', 'ocsf'],
    secret: 'HMAC-SHA256 key of x-vigil-signature',
    maxBatchSize: 5000,
  },
  splunk_hec: {
    label: 'Splunk HTTP Event Collector',
    schemes: ['http', 'https'],
    formats: ['vigil', 'ocsf'],
    secret: 'HEC token',
    maxBatchSize: 5000,
  },
  datadog: {
    label: 'Datadog logs',
    schemes: ['http', 'https'],
    formats: ['vigil', 'ocsf'],
    secret: 'API key',
    // Datadog's logs intake takes at most 1000 entries per request.
    maxBatchSize: 1000,
  },
} as const satisfies Record<string, SinkKindDefinition>;

export type SinkKind = keyof typeof SINK_KINDS;
export const SINK_KIND_NAMES = Object.keys(SINK_KINDS) as [SinkKind, ...SinkKind[]];

export const SINK_DEFAULTS = {
  format: 'vigil' as SinkFormat,
  batchSize: 500,
} as const;

/**
 * What sinks.list says about a sink's delivery:
 * - `caught_up`: nothing waits to be delivered;
 * - `delivering`: events wait, and the last attempt succeeded;
 * - `failing`: the last attempt failed; it is retried with backoff.
 */
export const SINK_STATES = {
  caught_up: 'Caught up',
  delivering: 'Delivering',
  failing: 'Failing, retrying',
} as const;
export type SinkState = keyof typeof SINK_STATES;

/** A sink as sinks.list answers it: never the secret. */
export interface SinkView {
  id: string;
  name: string;
  kind: SinkKind;
  url: string;
  format: SinkFormat;
  q: string;
  batchSize: number;
  caFile: string | null;
  /** Whether a secret is stored (its value is never shown). */
  hasSecret: boolean;
  /** Events delivered since the sink was created (across all replicas). */
  delivered: number;
  /** Events recorded after the sink's cursor, and how long the oldest of them has waited. */
  lag: { events: number; seconds: number };
  state: SinkState;
  lastError: string | null;
  lastErrorAt: string | null;
  lastDeliveredAt: string | null;
}
