// users.*: site managers manage who may log in and with which role.
import { z } from 'zod';
import { storable } from '../../shared/event.js';
import { ROLES } from '../../shared/identity.js';
import { PASSWORD_LIMITS } from '../services/passwords.js';
import { createUser, listUsers, setUserDisabled, setUserPassword, setUserRole } from '../services/users.js';
import { router, siteManagerProcedure } from '../trpc.js';

const role = z.enum(ROLES, { error: (i) => `unknown role ${JSON.stringify(i.input)}; valid roles: ${ROLES.join(', ')}` });
const password = z
  .string()
  .min(PASSWORD_LIMITS.min, `at least ${PASSWORD_LIMITS.min} characters`)
  .max(PASSWORD_LIMITS.max)
  // scrypt would take it, but a password that cannot be typed back the same way is a trap.
  .superRefine(storable);

export const usersRouter = router({
  list: siteManagerProcedure.query(({ ctx }) => listUsers(ctx.db)),

  create: siteManagerProcedure
    .input(
      z
        .object({
          username: z
            .string()
            .regex(/^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$/, 'letters, digits, ".", "_" and "-", at most 64'),
          email: z.email().max(320).optional(),
          role,
          password,
        })
        .strict(),
    )
    .mutation(({ ctx, input }) => createUser(ctx, input)),

  setRole: siteManagerProcedure
    .input(z.object({ id: z.uuid(), role }).strict())
    .mutation(({ ctx, input }) => setUserRole(ctx, input)),

  setDisabled: siteManagerProcedure
    .input(z.object({ id: z.uuid(), disabled: z.boolean() }).strict())
    .mutation(({ ctx, input }) => setUserDisabled(ctx, input)),

  setPassword: siteManagerProcedure
    .input(z.object({ id: z.uuid(), password }).strict())
    .mutation(({ ctx, input }) => setUserPassword(ctx, input)),
});
