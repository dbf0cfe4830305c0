// A refusal that carries a machine-readable reason (shared/refusalReasons.ts): the reason
// rides as the TRPCError's cause, and the error formatter (server/trpc.ts) puts it in the
// error's data.
import { TRPCError } from '@trpc/server';
import type { RefusalReason } from '../../shared/refusalReasons.js';

export class ReasonedCause extends Error {
  constructor(readonly reason: RefusalReason) {
    super(reason);
  }
}

export function reasonedRefusal(code: 'NOT_FOUND' | 'BAD_REQUEST', message: string, reason: RefusalReason): TRPCError {
  return new TRPCError({ code, message, cause: new ReasonedCause(reason) });
}
