// The whole API. Internal apps `import type { AppRouter }` and the compiler checks every call.
import { createCallerFactory, router } from '../trpc.js';
import { authRouter } from './auth.js';
import { eventsRouter } from './events.js';
import { integrityRouter } from './integrity.js';
import { settingsRouter } from './settings.js';
import { sinksRouter } from './sinks.js';
import { tokensRouter } from './tokens.js';
import { usersRouter } from './users.js';

export const appRouter = router({
  auth: authRouter,
  events: eventsRouter,
  integrity: integrityRouter,
  settings: settingsRouter,
  sinks: sinksRouter,
  tokens: tokensRouter,
  users: usersRouter,
});

export type AppRouter = typeof appRouter;
export const createCaller = createCallerFactory(appRouter);
