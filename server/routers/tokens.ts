// tokens.*: site managers issue and revoke service tokens for internal apps.
import { z } from 'zod';
import { storable } from '../../shared/event.js';
import { TOKEN_SCOPES } from '../../shared/identity.js';
import { createServiceToken, listServiceTokens, revokeServiceToken } from '../services/tokens.js';
import { router, siteManagerProcedure } from '../trpc.js';

export const tokensRouter = router({
  list: siteManagerProcedure.query(({ ctx }) => listServiceTokens(ctx.db)),

  create: siteManagerProcedure
    .input(
      z
        .object({
          name: z.string().trim().min(1).max(128).superRefine(storable),
          scopes: z
            .array(z.enum(TOKEN_SCOPES, { error: (i) => `unknown scope ${JSON.stringify(i.input)}; valid scopes: ${TOKEN_SCOPES.join(', ')}` }))
            .min(1)
            .refine((s) => s.includes('events:write'), 'a service token records events: include events:write'),
          expiresInDays: z.number().int().min(1).max(3650).optional(),
        })
        .strict(),
    )
    .mutation(({ ctx, input }) => createServiceToken(ctx, input)),

  revoke: siteManagerProcedure
    .input(z.object({ id: z.uuid() }).strict())
    .mutation(({ ctx, input }) => revokeServiceToken(ctx, input)),
});
