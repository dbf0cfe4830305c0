// GET /trpc/events.live: the live stream over SSE, written here instead of by tRPC's HTTP
// adapter, in tRPC's own SSE protocol (what httpSubscriptionLink and any EventSource
// read): `connected` with the client's options, then each batch as `data:` with its `id:`
// (the seq a reconnecting client resumes after), `ping` events, and at the end `return`
// or `serialized-error` with the error's shape. The procedure is called as tRPC would
// call it (createCaller: the same input check, authorization and metrics). tRPC's adapter
// turns each stream into a chain of WHATWG streams and async generators: about 80 kB of
// heap per open stream, held for hours by every auditor's tab, and a few promises per
// message. Here a stream is one response, one timer and the procedure's generator.
//
// HEAD, batched calls (`?batch=1`) and input that is not JSON go on to tRPC, which answers
// them as it answers any call.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request, RequestHandler } from 'express';
import { getTRPCErrorFromUnknown, getTRPCErrorShape, isTrackedEnvelope, type TRPCError } from '@trpc/server';
import type { TRPCRequestInfo } from '@trpc/server/http';
import type { Context } from '../context.js';
import { SseLiveSink, sseEventText as sseEvent } from '../liveWire.js';
import { logger } from '../logger.js';
import { appRouter, createCaller } from '../routers/_app.js';

export const LIVE_SSE_PATH = '/trpc/events.live';

const SSE_HEADERS = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
  connection: 'keep-alive',
} as const;

export interface LiveSseDeps {
  createContext: (opts: { req: IncomingMessage; res: ServerResponse; info: TRPCRequestInfo }) => Promise<Context>;
}

/** The call's input as tRPC reads it: `?input=` JSON, with the id to resume after (Last-Event-ID) merged in. */
function inputOf(req: Request): { ok: true; input: unknown } | { ok: false } {
  const raw = req.query.input;
  let input: unknown;
  if (raw !== undefined) {
    if (typeof raw !== 'string') return { ok: false };
    try {
      input = JSON.parse(raw);
    } catch {
      return { ok: false };
    }
  }
  const param = (name: string) => (typeof req.query[name] === 'string' ? (req.query[name] as string) : undefined);
  const lastEventId = req.headers['last-event-id'] ?? param('lastEventId') ?? param('Last-Event-Id');
  if (typeof lastEventId === 'string' && lastEventId !== '') {
    if (input !== null && typeof input === 'object' && !Array.isArray(input)) input = { ...input, lastEventId };
    else input ??= { lastEventId };
  }
  return { ok: true, input };
}

export function liveSseHandler(deps: LiveSseDeps): RequestHandler {
  const sse = appRouter._def._config.sse ?? {};
  const pingMs = sse.ping?.enabled ? (sse.ping.intervalMs ?? 1000) : 0;
  const connected = sseEvent({ event: 'connected', data: JSON.stringify(sse.client ?? {}) });
  const ping = sseEvent({ event: 'ping', data: '' });

  return async (req, res, next) => {
    if (req.method !== 'GET' || req.query.batch !== undefined) return next();
    const parsed = inputOf(req);
    if (!parsed.ok) return next();
    const stop = new AbortController();
    res.once('close', () => stop.abort());
    res.writeHead(200, SSE_HEADERS);
    res.write(connected);
    const write = (text: string) => {
      if (!res.writableEnded && !res.destroyed) res.write(text);
    };
    // A ping waits while the client has not read what it was sent: the stream is alive.
    const pinger = pingMs > 0 ? setInterval(() => res.writableNeedDrain || write(ping), pingMs) : null;
    let ctx: Context | undefined;
    try {
      const info = { type: 'subscription', isBatchCall: false, calls: [], accept: null, connectionParams: null, signal: stop.signal, url: null } as unknown as TRPCRequestInfo;
      const created = await deps.createContext({ req, res, info });
      // Batches go straight to this response: its opening event is out.
      ctx = { ...created, liveSink: () => new SseLiveSink(res) };
      const stream = await createCaller(ctx, { signal: stop.signal }).events.live(parsed.input as never);
      for await (const value of stream as AsyncIterable<unknown>) {
        // Written by the sink above; a value the procedure yields itself goes as tRPC writes it.
        const [id, data] = isTrackedEnvelope(value) ? value : [undefined, value];
        write(sseEvent({ data: JSON.stringify(data), ...(id !== undefined ? { id: String(id) } : {}) }));
      }
      write(sseEvent({ event: 'return', data: '' }));
    } catch (cause) {
      if (!stop.signal.aborted) {
        const error: TRPCError = getTRPCErrorFromUnknown(cause);
        if (error.code === 'INTERNAL_SERVER_ERROR') logger.error({ err: error.cause ?? error, path: 'events.live' }, 'procedure failed');
        const shape = getTRPCErrorShape({ config: appRouter._def._config, ctx, error, input: parsed.input, path: 'events.live', type: 'subscription' });
        write(sseEvent({ event: 'serialized-error', data: JSON.stringify(shape) }));
      }
    } finally {
      if (pinger) clearInterval(pinger);
      if (!res.writableEnded) res.end();
    }
  };
}
