// settings.*: the admin settings of shared/settingsCatalog.ts. Auditors and site managers
// read them (secrets masked) and their history; site managers change them.
import { z } from 'zod';
import { SETTING_KEYS, SETTING_TARGETS, settingsChangesSchema } from '../../shared/settingsCatalog.js';
import { usernameOf } from '../services/caller.js';
import { getSettings, settingsHistory, updateSettings } from '../services/settings.js';
import { auditorProcedure, router, siteManagerProcedure } from '../trpc.js';

const settingKey = z.enum(SETTING_KEYS, {
  error: (i) => `unknown setting ${JSON.stringify(i.input)}; valid settings: ${SETTING_KEYS.join(', ')}`,
});
const settingTarget = z.enum(SETTING_TARGETS, {
  error: (i) => `unknown target ${JSON.stringify(i.input)}; valid targets: ${SETTING_TARGETS.join(', ')}`,
});

export const settingsRouter = router({
  get: auditorProcedure.query(({ ctx }) => getSettings(ctx.db)),

  /** `{ changes: { accessUrl: 'coder.com', oauthClientSecret: '...', ... } }`: all or nothing. */
  update: siteManagerProcedure
    .input(z.object({ changes: settingsChangesSchema }).strict())
    .mutation(({ ctx, input }) => updateSettings(ctx, input.changes)),

  /** `{ key }` for one setting or `{ target }` for all of a target's settings, newest first. */
  history: auditorProcedure
    .input(
      z
        .object({
          key: settingKey.optional(),
          target: settingTarget.optional(),
          cursor: z.string().max(256).optional(),
          limit: z.number().int().min(1).max(200).optional(),
        })
        .strict()
        .refine((i) => (i.key === undefined) !== (i.target === undefined), {
          error: 'give either a setting key or a target',
          path: ['key'],
        }),
    )
    .query(({ ctx, input }) => settingsHistory(ctx.db, input, usernameOf(ctx.caller), ctx.clock)),
});
