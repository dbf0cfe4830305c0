// events.*: record and find audit events. Thin: validate, then call the events service.
import { z } from 'zod';
import { eventBatchSchema, eventInputSchema } from '../../shared/event.js';
import { QUERY_LIMITS } from '../../shared/query.js';
import { usernameOf } from '../services/caller.js';
import { eventStats, getEvent, listEvents, recordEvents } from '../services/events.js';
import { eventReaderProcedure, ingestProcedure, router } from '../trpc.js';

const querySchema = z.string().max(QUERY_LIMITS.length).optional();

export const eventsRouter = router({
  record: ingestProcedure.input(eventInputSchema).mutation(async ({ ctx, input }) => {
    const [stored] = await recordEvents(ctx.db, [input], ctx.clock);
    return stored!;
  }),

  recordBatch: ingestProcedure
    .input(z.object({ events: eventBatchSchema }).strict())
    .mutation(async ({ ctx, input }) => ({ events: await recordEvents(ctx.db, input.events, ctx.clock) })),

  list: eventReaderProcedure
    .input(
      z
        .object({
          q: querySchema,
          cursor: z.string().max(256).optional(),
          limit: z.number().int().min(1).max(200).optional(),
        })
        .strict()
        .optional(),
    )
    .query(({ ctx, input }) => listEvents(ctx.db, input ?? {}, usernameOf(ctx.caller), ctx.clock)),

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
});
