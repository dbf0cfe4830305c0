// sinks.*: streaming the audit trail to SIEMs. Site managers only: a sink's URL and filter
// decide where the trail goes. The logic is server/services/sinks.ts.
import { z } from 'zod';
import { sinkCreateSchema, sinkUpdateSchema } from '../services/sinkConfig.js';
import { createSink, deleteSink, listSinks, testSink, updateSink } from '../services/sinks.js';
import { router, siteManagerProcedure } from '../trpc.js';

const byId = z.object({ id: z.uuid() }).strict();

export const sinksRouter = router({
  list: siteManagerProcedure.query(({ ctx }) => listSinks(ctx.db, ctx.clock)),
  create: siteManagerProcedure.input(sinkCreateSchema).mutation(({ ctx, input }) => createSink(ctx, input)),
  update: siteManagerProcedure.input(sinkUpdateSchema).mutation(({ ctx, input }) => updateSink(ctx, input)),
  delete: siteManagerProcedure.input(byId).mutation(({ ctx, input }) => deleteSink(ctx, input.id)),
  /** Sends one test message now and answers how the receiver took it. */
  test: siteManagerProcedure.input(byId).mutation(({ ctx, input }) => testSink(ctx, input.id)),
});
