// events.*: record and find audit events. Thin: validate, then call the events service.
import { tracked, TRPCError } from '@trpc/server';
import { z } from 'zod';
import { eventBatchSchema, eventInputSchema } from '../../shared/event.js';
import { QUERY_LIMITS } from '../../shared/query.js';
import { liveEventsSent, liveSubscriberClosed, liveSubscriberOpened } from '../metrics.js';
import { usernameOf } from '../services/caller.js';
import { LiveDelivery } from '../liveWire.js';
import { liveEventBatches } from '../services/liveStream.js';
import {
  countEvents,
  eventStats,
  eventsSince,
  getEvent,
  listEvents,
  parseQueryFor,
  recordEvents,
  resolveFilter,
} from '../services/events.js';
import { isDatabaseUnavailable } from '../db/database.js';
import { eventReaderProcedure, eventReaderRefusal, ingestProcedure, router } from '../trpc.js';

const querySchema = z.string().max(QUERY_LIMITS.length).optional();

export const eventsRouter = router({
  record: ingestProcedure.input(eventInputSchema).mutation(async ({ ctx, input }) => {
    const [stored] = await recordEvents(ctx.events, [input], ctx.clock);
    return stored!;
  }),

  recordBatch: ingestProcedure
    .input(z.object({ events: eventBatchSchema }).strict())
    .mutation(async ({ ctx, input }) => ({ events: await recordEvents(ctx.events, input.events, ctx.clock) })),

  list: eventReaderProcedure
    .input(
      z
        .object({
          q: querySchema,
          cursor: z.string().max(256).optional(),
          limit: z.number().int().min(1).max(200).optional(),
          count: z.boolean().optional(),
        })
        .strict()
        .optional(),
    )
    .query(({ ctx, input }) => listEvents(ctx.db, input ?? {}, usernameOf(ctx.caller), ctx.clock)),

  /** The capped count a first page of events.list gives, for pages listed with `count: false`. */
  count: eventReaderProcedure
    .input(z.object({ q: querySchema }).strict().optional())
    .query(({ ctx, input }) => countEvents(ctx.db, input ?? {}, usernameOf(ctx.caller), ctx.clock)),

  get: eventReaderProcedure
    .input(z.object({ id: z.uuid() }).strict())
    .query(({ ctx, input }) => getEvent(ctx.db, input.id)),

  stats: eventReaderProcedure
    .input(
      z
        .object({ q: querySchema, buckets: z.number().int().min(1).max(500).optional() })
        .strict()
        .optional(),
    )
    .query(({ ctx, input }) => eventStats(ctx.db, input ?? {}, usernameOf(ctx.caller), ctx.clock)),

  /** Catch up from a cursor: matching events after `afterSeq`, oldest first (the extension's poll). */
  since: eventReaderProcedure
    .input(
      z
        .object({
          q: querySchema,
          afterSeq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
          limit: z.number().int().min(1).max(500).optional(),
        })
        .strict()
        .optional(),
    )
    .query(({ ctx, input }) => eventsSince(ctx.db, input ?? {}, usernameOf(ctx.caller), ctx.clock)),

  /**
   * New events matching `q`, as they are recorded (by any server process), in batches:
   * each message's data is the JSON text of an AuditEvent[] (encoded once for every
   * subscriber of the same query, and after a stream's first message written as the
   * same bytes to every connection: server/liveWire.ts), tracked by its last event's
   * seq. The typed client hands them out one event at a time. Resumable: `lastEventId` replays what was missed.
   * Ends with UNAUTHORIZED or FORBIDDEN once the caller may no longer read events.
   */
  live: eventReaderProcedure
    .input(
      z
        .object({
          q: querySchema,
          lastEventId: z.string().regex(/^\d{1,18}$/, 'an event seq from a previous subscription').nullish(),
        })
        .strict()
        .optional(),
    )
    .subscription(async ({ ctx, input, signal }) => {
      const query = resolveFilter(parseQueryFor(input?.q, usernameOf(ctx.caller)), ctx.clock());
      // Resolved before the stream counts as started, so from then on it keeps its place:
      // an outage right after the start is replayed, not skipped.
      const after = input?.lastEventId ? Number(input.lastEventId) : await ctx.live.currentPosition();
      return (async function* () {
        const transport = ctx.request.transport === 'http' ? 'sse' : (ctx.request.transport ?? 'local');
        liveSubscriberOpened(transport);
        const sent = liveEventsSent.labels(transport);
        try {
          const batches = liveEventBatches(ctx, query, after, signal ?? new AbortController().signal, eventReaderRefusal, (n) => sent.inc(n));
          for await (const item of batches) {
            yield tracked(String((item instanceof LiveDelivery ? item.batch : item).lastSeq), item);
          }
        } catch (error) {
          // Errors while streaming bypass the procedure middleware: say "retry" here too.
          if (isDatabaseUnavailable(error)) {
            throw new TRPCError({ code: 'SERVICE_UNAVAILABLE', message: 'the database is unavailable; retry shortly', cause: error });
          }
          throw error;
        } finally {
          liveSubscriberClosed(transport);
        }
      })();
    }),
});
