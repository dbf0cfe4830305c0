// The whole API. Internal apps `import type { AppRouter }` and the compiler checks every call.
import { createCallerFactory, router } from '../trpc.js';
import { eventsRouter } from './events.js';

export const appRouter = router({
  events: eventsRouter,
});

export type AppRouter = typeof appRouter;
export const createCaller = createCallerFactory(appRouter);
