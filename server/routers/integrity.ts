// integrity.*: verify the hash chain, sign its head, publish the verifying key.
import { z } from 'zod';
import { selectCheckpoints } from '../db/integrityStore.js';
import { createCheckpoint, toPublicCheckpoint, verifyChain } from '../services/integrity.js';
import { auditorProcedure, publicProcedure, router, siteManagerProcedure } from '../trpc.js';

export const integrityRouter = router({
  verify: auditorProcedure.query(({ ctx }) => verifyChain(ctx.db, { trusted: [ctx.signer] })),

  checkpoint: siteManagerProcedure.mutation(({ ctx }) =>
    createCheckpoint(ctx.db, ctx.signer, { kind: 'on_demand', clock: ctx.clock }),
  ),

  checkpoints: auditorProcedure
    .input(z.object({ limit: z.number().int().min(1).max(1000).optional() }).strict().optional())
    .query(async ({ ctx, input }) => (await selectCheckpoints(ctx.db)).slice(-(input?.limit ?? 100)).reverse().map(toPublicCheckpoint)),

  publicKey: publicProcedure.query(({ ctx }) => ({
    algorithm: 'Ed25519' as const,
    keyId: ctx.signer.keyId,
    publicKeyPem: ctx.signer.publicKeyPem,
  })),
});
