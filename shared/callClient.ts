// The typed client's core: calls, retries and the recordLater buffer, without zod and
// without the subscription transports, so that the extension's pages stay small.
// `shared/client.ts` builds the full client on it; internal apps import that one.
import { createTRPCClient, httpBatchLink, httpLink, splitLink, TRPCClientError, type TRPCLink } from '@trpc/client';
import { observable } from '@trpc/server/observable';
import type { AppRouter } from '../server/routers/_app.js';
import type { AuditEvent, EventInput } from './event.js';
import { CALLS_PER_BATCH, EVENT_LIMITS } from './limits.js';

export interface RetryOptions {
  /** Retries after the first attempt (default 10; 0: none). */
  attempts?: number;
  /** Delay before the first retry (default 200 ms), doubled each time... */
  baseDelayMs?: number;
  /** ...up to this (default 5 s). With the defaults a call rides out ~40 s of outage. */
  maxDelayMs?: number;
  /** Retry queries too (default false: a person waiting on a list is told at once). */
  queries?: boolean;
}

export interface BufferOptions {
  /** Send when this many events wait (default 100, at most 1000: one recordBatch). */
  size?: number;
  /** ...or when the oldest has waited this long (default 1000 ms). */
  intervalMs?: number;
  /** Most events held while the server is unreachable (default 100,000): recordLater throws beyond. */
  maxBuffered?: number;
  /** Told of each failed flush; the events stay buffered and are sent again later. */
  onError?: (error: unknown, pending: number) => void;
}

export interface LiveOptions {
  /**
   * 'sse' (the default: plain HTTP, through any proxy) or 'ws' (one socket for every
   * subscription; its traffic keeps an MV3 service worker awake).
   */
  transport?: 'sse' | 'ws';
  /** A WebSocket class where there is no global one (Node 20: the `ws` package). */
  WebSocket?: unknown;
  /**
   * An EventSource class that takes `{ fetch }` (default: the `eventsource` package, in
   * browsers too: the browser's own EventSource cannot send an Authorization header).
   */
  EventSource?: unknown;
  /** WebSocket only: told when the socket opens (also after a reconnection) and closes. */
  onOpen?: () => void;
  onClose?: (cause?: { code?: number }) => void;
}

export interface VigilClientOptions {
  /** The server's base URL, e.g. http://127.0.0.1:8080 (the client adds /trpc). */
  url: string;
  /** A bearer token; without one no Authorization header is sent. */
  token?: string | (() => string | undefined | Promise<string | undefined>);
  fetch?: typeof fetch;
  /**
   * Batch calls made in the same tick into one request (the default). The extension's
   * popup turns this off: a batch waits for a timer, which the first render delays.
   */
  batch?: boolean;
  retry?: RetryOptions;
  /** The recordLater buffer. */
  buffer?: BufferOptions;
  /** How subscriptions (events.live) travel. */
  live?: LiveOptions;
}

/** Procedures that only record events: idempotent once every event carries an id. */
const RECORDING = new Set(['events.record', 'events.recordBatch']);

function uuid(): string {
  return globalThis.crypto.randomUUID();
}

/** An event as it will be sent: with the id and time a retry must repeat. */
function stamped(event: EventInput): EventInput & { id: string; time: string } {
  return { ...event, id: event.id ?? uuid(), time: event.time ?? new Date().toISOString() };
}

/** Gives events sent through events.record / events.recordBatch an id and a time. */
const stampEventsLink: TRPCLink<AppRouter> = () => ({ op, next }) => {
  if (op.type !== 'mutation' || !RECORDING.has(op.path) || op.input === null || typeof op.input !== 'object') return next(op);
  const input = op.input as EventInput | { events?: EventInput[] };
  const withIds =
    op.path === 'events.record'
      ? stamped(input as EventInput)
      : { ...input, events: Array.isArray((input as { events?: unknown }).events) ? (input as { events: EventInput[] }).events.map(stamped) : (input as { events?: unknown }).events };
  return next({ ...op, input: withIds });
};

/** A live stream that meets an unreachable database is opened again after this long (doubling up to 5 s). */
const LIVE_RETRY_FIRST_MS = 500;
const LIVE_RETRY_MAX_MS = 5_000;

/**
 * events.live sends a batch per message (the JSON text of AuditEvent[], tracked by its
 * last seq, encoded once on the server for every subscriber of the query): handed on
 * here one event at a time, each tracked by its own seq. The transports below keep the
 * batch's id, so a reconnection resumes after the last whole batch received.
 *
 * A stream the server ends with SERVICE_UNAVAILABLE (its database was away, e.g. for a
 * "from now" stream's first read) is opened again here, after the last event received,
 * since tRPC's wsLink does not resubscribe after an error. A stream that had received
 * nothing starts again from the head then: what another replica recorded while this
 * server could not read its database, before the stream's first read, may be missed.
 */
const liveEventsLink: TRPCLink<AppRouter> = () => ({ op, next }) => {
  if (op.type !== 'subscription' || op.path !== 'events.live') return next(op);
  return observable((observer) => {
    let lastId: string | undefined;
    let retries = 0;
    let timer: ReturnType<typeof setTimeout> | null = null;
    let ended = false;
    let current: { unsubscribe(): void } | null = null;
    const open = () => {
      const input = lastId ? { ...(op.input as object | undefined), lastEventId: lastId } : op.input;
      current = next({ ...op, input }).subscribe({
        next(envelope) {
          const result = envelope.result as { type?: string; data?: { id?: string; data?: unknown } };
          if ((result.type !== 'data' && result.type !== undefined) || typeof result.data?.data !== 'string') return observer.next(envelope);
          retries = 0;
          for (const event of JSON.parse(result.data.data) as AuditEvent[]) {
            const id = String(event.seq);
            lastId = id;
            observer.next({ ...envelope, result: { type: 'data', id, data: { id, data: event } } } as typeof envelope);
          }
        },
        error(error) {
          if (ended || (error as { data?: { code?: string } }).data?.code !== 'SERVICE_UNAVAILABLE') return observer.error(error);
          timer = setTimeout(open, Math.min(LIVE_RETRY_FIRST_MS * 2 ** retries++, LIVE_RETRY_MAX_MS));
        },
        complete: () => observer.complete(),
      });
    };
    open();
    return () => {
      ended = true;
      if (timer) clearTimeout(timer);
      current?.unsubscribe();
    };
  });
};

/** events.live as the typed client presents it: onData gets each event, tracked by its seq. */
type Trpc = ReturnType<typeof createTRPCClient<AppRouter>>;
type LiveSubscribe = Trpc['events']['live']['subscribe'];
type WithEvents<T> = T extends { onData?: (value: infer _Batch) => void } ? Omit<T, 'onData'> & { onData?: (value: { id: string; data: AuditEvent }) => void } : T;
type LiveEventsSubscribe = LiveSubscribe extends {
  (input: infer I, opts: infer O): infer R;
  (input: infer _I2, opts?: infer _O2): infer _R2;
}
  ? (input: I, opts: WithEvents<O>) => R
  : never;
type LiveTyped<C extends Trpc> = Omit<C, 'events'> & { events: Omit<C['events'], 'live'> & { live: { subscribe: LiveEventsSubscribe } } };

const sleep = (ms: number, signal?: AbortSignal | null) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason);
    }, { once: true });
  });

/** Which procedures a tRPC HTTP request carries (`/trpc/a.b,c.d?batch=1`). */
function proceduresOf(url: string): string[] {
  const path = new URL(url, 'http://x').pathname;
  const last = path.slice(path.lastIndexOf('/') + 1);
  return decodeURIComponent(last).split(',');
}

/** A fetch that retries what is safe to retry: network errors and 503s, with backoff. */
function retryingFetch(inner: typeof fetch, retry: Required<RetryOptions>): typeof fetch {
  return async (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const method = (init?.method ?? 'GET').toUpperCase();
    const retriable = method === 'GET' ? retry.queries : proceduresOf(url).every((p) => RECORDING.has(p));
    for (let attempt = 0; ; attempt++) {
      const last = !retriable || attempt >= retry.attempts;
      try {
        const response = await inner(input, init);
        if (response.status !== 503 || last) {
          if (!retriable) return response;
          // Read the answer here: a connection lost half-way through it (after the server
          // committed) is a network error like any other, and the call is safe to repeat.
          const body = await response.arrayBuffer();
          return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
        }
        await response.body?.cancel().catch(() => {});
      } catch (error) {
        if (last || init?.signal?.aborted) throw error;
      }
      const delay = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** attempt);
      await sleep(delay / 2 + Math.random() * (delay / 2), init?.signal);
    }
  };
}

export type TokenOption = VigilClientOptions['token'];

export async function tokenOf(token: TokenOption): Promise<string | undefined> {
  return typeof token === 'function' ? token() : token;
}

/**
 * The same client without the subscription transports, for code that never subscribes
 * and is weighed by its bundle (the extension's pages): subscribing fails with a message.
 */
export function createVigilCallClient(options: VigilClientOptions) {
  return buildClient(options, () => ({ link: noSubscriptions, close: () => {} }), () => 'this client does not buffer events (createVigilCallClient); use createVigilClient');
}

const noSubscriptions: TRPCLink<AppRouter> = () => ({ op }) =>
  observable((observer) => {
    observer.error(TRPCClientError.from(new Error(`${op.path}: this client does not subscribe (createVigilCallClient); use createVigilClient`)));
  });

/** The subscription link a client uses, and how to close it. */
export type SubscriptionLinkFactory = (base: string, options: VigilClientOptions) => { link: TRPCLink<AppRouter> | TRPCLink<AppRouter>[]; close(): void };

/** Why recordLater refuses an event (null: it is valid). */
export type EventCheck = (event: EventInput) => string | null;

export function buildClient(options: VigilClientOptions, subscriptionsFor: SubscriptionLinkFactory, checkEvent: EventCheck) {
  const base = options.url.replace(/\/+$/, '');
  const retry: Required<RetryOptions> = {
    attempts: options.retry?.attempts ?? 10,
    baseDelayMs: options.retry?.baseDelayMs ?? 200,
    maxDelayMs: options.retry?.maxDelayMs ?? 5_000,
    queries: options.retry?.queries ?? false,
  };
  const baseFetch = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => globalThis.fetch(input, init));
  const subscriptions = subscriptionsFor(base, options);
  const trpc = createTRPCClient<AppRouter>({
    links: [
      stampEventsLink,
      liveEventsLink,
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: subscriptions.link,
        false: (options.batch === false ? httpLink : httpBatchLink)({
          url: `${base}/trpc`,
          maxItems: CALLS_PER_BATCH,
          fetch: retry.attempts > 0 ? retryingFetch(baseFetch as typeof fetch, retry) : baseFetch,
          async headers() {
            const token = typeof options.token === 'function' ? await options.token() : options.token;
            return token ? { authorization: `Bearer ${token}` } : {};
          },
        }),
      }),
    ],
  });

  // The recordLater buffer: events wait here until a batch is full or the interval passes.
  const size = Math.min(Math.max(options.buffer?.size ?? 100, 1), EVENT_LIMITS.batchSize);
  const intervalMs = options.buffer?.intervalMs ?? 1000;
  const maxBuffered = options.buffer?.maxBuffered ?? 100_000;
  let buffer: (EventInput & { id: string })[] = [];
  let timer: ReturnType<typeof setTimeout> | null = null;
  let flushing: Promise<void> | null = null;
  let closed = false;

  function schedule() {
    if (timer || closed || buffer.length === 0) return;
    timer = setTimeout(() => {
      timer = null;
      flush().catch(() => {});
    }, intervalMs);
    // A buffer alone never keeps a process alive: close() is how an app waits for it.
    (timer as { unref?: () => void }).unref?.();
  }

  /** Sends what is buffered, a batch at a time (only full batches unless `all`); failed batches stay buffered. */
  async function send(all: boolean): Promise<void> {
    while (buffer.length >= (all ? 1 : size)) {
      const batch = buffer.slice(0, size);
      try {
        await trpc.events.recordBatch.mutate({ events: batch });
      } catch (error) {
        options.buffer?.onError?.(error, buffer.length);
        throw error;
      }
      // Only now: what was sent leaves the buffer (recordLater may have added more meanwhile).
      buffer = buffer.slice(batch.length);
    }
  }

  function flush(all = true): Promise<void> {
    if (timer && all) {
      clearTimeout(timer);
      timer = null;
    }
    // One flush at a time; a flush asked for during another runs after it.
    const run: Promise<void> = (flushing ?? Promise.resolve()).catch(() => {}).then(() => send(all));
    const tracked: Promise<void> = run.finally(() => {
      if (flushing === tracked) flushing = null;
      schedule();
    });
    flushing = tracked;
    return tracked;
  }

  const extras = {
    /**
     * Buffers an event, sent with others in one recordBatch when `buffer.size` wait or
     * after `buffer.intervalMs`. Checked at once (throws on an invalid event); answers the
     * event's id. Failed sends are retried (same ids: stored once) until close().
     */
    recordLater(event: EventInput): { id: string } {
      if (closed) throw new Error('vigil client: recordLater after close()');
      const problem = checkEvent(event);
      if (problem) throw new Error(`vigil client: ${problem}`);
      if (buffer.length >= maxBuffered) throw new Error(`vigil client: ${maxBuffered} events are waiting for the server; not buffering more`);
      const ready = stamped(event);
      buffer.push(ready);
      // A full batch goes at once; the rest waits for the interval (or flush/close).
      if (buffer.length % size === 0) flush(false).catch(() => {});
      else schedule();
      return { id: ready.id };
    },
    /** Sends what is buffered now; rejects if the server could not take it (it stays buffered). */
    flush: (): Promise<void> => flush(true),
    /** Events waiting to be sent. */
    pending(): number {
      return buffer.length;
    },
    /** Stops the timer, sends everything still buffered (rejects if that fails) and closes a WebSocket. */
    async close(): Promise<void> {
      closed = true;
      try {
        await flush();
      } finally {
        subscriptions.close();
      }
    },
  };

  return new Proxy(trpc, {
    get(target, prop, receiver) {
      if (typeof prop === 'string' && Object.hasOwn(extras, prop)) return extras[prop as keyof typeof extras];
      return Reflect.get(target, prop, receiver);
    },
  }) as unknown as LiveTyped<typeof trpc> & typeof extras;
}

export type VigilClient = ReturnType<typeof buildClient>;
export type { AppRouter };
