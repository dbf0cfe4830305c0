// integrity.*: verify the hash chain, sign its head, publish the verifying key; the
// Merkle tree's heads and proofs, and auditors' witness reports.
import { z } from 'zod';
import { selectCheckpoints } from '../db/integrityStore.js';
import { createCheckpoint, toPublicCheckpoint, verifyChain } from '../services/integrity.js';
import { verifyTree } from '../services/treeVerification.js';
import { eventInclusionProof, latestTreeHead, recordWitness, treeConsistencyProof } from '../services/merkleTree.js';
import { auditorProcedure, eventReaderProcedure, publicProcedure, router, siteManagerProcedure } from '../trpc.js';

const treeSize = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const integrityRouter = router({
  verify: auditorProcedure.query(({ ctx }) => verifyChain(ctx.db, { trusted: [ctx.signer] })),

  /** The Merkle tree against the rows and the latest signed head against the tree (`vigil verify`). */
  verifyTree: auditorProcedure.query(({ ctx }) => verifyTree(ctx.db, { signer: ctx.signer })),

  checkpoint: siteManagerProcedure.mutation(({ ctx }) =>
    createCheckpoint(ctx.db, ctx.signer, { kind: 'on_demand', clock: ctx.clock }),
  ),

  checkpoints: auditorProcedure
    .input(z.object({ limit: z.number().int().min(1).max(1000).optional() }).strict().optional())
    .query(async ({ ctx, input }) => (await selectCheckpoints(ctx.db)).slice(-(input?.limit ?? 100)).reverse().map(toPublicCheckpoint)),

  // The verifiable log (RFC 9162 Merkle tree, C2SP checkpoints): server/services/merkleTree.ts.
  treeHead: eventReaderProcedure.query(({ ctx }) => latestTreeHead(ctx.db, ctx.treeLog)),

  consistencyProof: eventReaderProcedure
    .input(z.object({ from: treeSize, to: treeSize }).strict())
    .query(({ ctx, input }) => treeConsistencyProof(ctx.db, input.from, input.to)),

  inclusionProof: eventReaderProcedure
    .input(z.object({ id: z.uuid(), treeSize }).strict())
    .query(({ ctx, input }) => eventInclusionProof(ctx.db, input.id.toLowerCase(), input.treeSize)),

  witness: auditorProcedure
    .input(z.object({ note: z.string().min(1).max(16 * 1024) }).strict())
    .mutation(({ ctx, input }) =>
      recordWitness(ctx.db, ctx.events, ctx.treeLog, { note: input.note, caller: ctx.caller, request: ctx.request, clock: ctx.clock }),
    ),

  publicKey: publicProcedure.query(({ ctx }) => ({
    algorithm: 'Ed25519' as const,
    keyId: ctx.signer.keyId,
    publicKeyPem: ctx.signer.publicKeyPem,
  })),
});
