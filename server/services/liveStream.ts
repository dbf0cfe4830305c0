// One live stream (events.live over WebSocket or SSE): the hub's matching events for as
// long as the caller may read them and the client keeps reading. It ends with the
// caller's refusal (UNAUTHORIZED, FORBIDDEN) as soon as the access watch reports the
// change, and stops pulling from the hub while the client has not read what it was sent
// (the hub then switches it to replaying from the database, where nothing piles up).
// Over WebSocket, batches are yielded to tRPC until it has sent one; later ones go
// straight to the socket. Over SSE every batch goes straight to the response
// (server/liveWire.ts).
import type { TRPCError } from '@trpc/server';
import type { SocketBudget } from '../connectionLimits.js';
import type { EventQuery } from '../db/auditEventsStore.js';
import { LiveDelivery, type LiveSink } from '../liveWire.js';
import type { WatchedCaller } from './accessWatch.js';
import type { Caller } from './caller.js';
import type { LiveBatch } from './liveBatch.js';
import type { LiveHub } from './liveHub.js';

export interface LiveStreamDeps {
  live: LiveHub;
  /** The connection's caller as it is now (null: in-process, nothing to watch). */
  watched: WatchedCaller | null;
  /** A WebSocket's subscription slots (null over SSE and in-process). */
  socket: SocketBudget | null;
  /** Where a stream writes its batches itself (null: in-process, every batch is yielded). */
  liveSink: (() => LiveSink) | null;
}

export async function* liveEventBatches(
  deps: LiveStreamDeps,
  query: EventQuery,
  afterSeq: number,
  signal: AbortSignal,
  /** Why a caller may no longer follow the stream, or null. */
  refusalOf: (caller: Caller | null) => TRPCError | null,
  /** Told how many events each batch sent carries. */
  sent: (events: number) => void = () => {},
): AsyncGenerator<LiveBatch | LiveDelivery> {
  const releaseSlot = deps.socket?.openSubscription();
  const sink = deps.liveSink?.() ?? null;
  const stop = new AbortController();
  const abort = () => stop.abort();
  signal.addEventListener('abort', abort, { once: true });
  let refusal: TRPCError | null = null;
  const refuseIfLost = (caller: Caller | null) => {
    refusal = refusalOf(caller);
    if (refusal) stop.abort();
  };
  const unwatch = deps.watched?.onChange(refuseIfLost);
  try {
    // A change between the call's own check and the watch above counts too.
    if (deps.watched) refuseIfLost(deps.watched.caller);
    if (!stop.signal.aborted) {
      for await (const batch of deps.live.subscribe(query, afterSeq, stop.signal)) {
        if (sink?.congested) await sink.drained(stop.signal);
        if (stop.signal.aborted) break;
        sent(batch.size);
        if (sink?.direct) sink.send(batch);
        else yield sink ? new LiveDelivery(batch, sink) : batch;
      }
    }
    if (refusal) throw refusal;
  } finally {
    unwatch?.();
    signal.removeEventListener('abort', abort);
    releaseSlot?.();
  }
}
