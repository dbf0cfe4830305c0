// auth.*: log in for a bearer token, log out, and ask who you are.
import { z } from 'zod';
import { storable } from '../../shared/event.js';
import { PASSWORD_LIMITS } from '../services/passwords.js';
import { login, logout } from '../services/auth.js';
import { authedProcedure, publicProcedure, router } from '../trpc.js';

export const authRouter = router({
  login: publicProcedure
    .input(
      z
        .object({
          username: z.string().trim().min(1).max(256).superRefine(storable),
          password: z.string().min(1).max(PASSWORD_LIMITS.max).superRefine(storable),
        })
        .strict(),
    )
    .mutation(({ ctx, input }) => login(ctx.db, ctx.events, input, ctx.request, ctx.loginThrottle, ctx.clock)),

  logout: authedProcedure.mutation(({ ctx }) => logout(ctx.db, ctx.caller, ctx.clock)),

  me: authedProcedure.query(({ ctx }) => {
    const { caller } = ctx;
    if (caller.kind === 'service') {
      return { kind: 'service' as const, token: { id: caller.tokenId, name: caller.name, scopes: caller.scopes } };
    }
    return {
      kind: 'user' as const,
      user: { id: caller.userId, username: caller.username, email: caller.email, role: caller.role },
    };
  }),
});
