// Background jobs of a running server: checkpoints of the chain head, and retention.
// Each run is independent and idempotent, so several replicas may run them.
import type { Database } from '../db/database.js';
import type { EventWriter } from '../db/eventWriter.js';
import { logger } from '../logger.js';
import { createCheckpoint, runRetention } from './integrity.js';
import type { Signer } from './signingKey.js';

const HOUR_MS = 3_600_000;

export function startScheduledJobs(
  db: Database,
  events: EventWriter,
  signer: Signer,
  options: { checkpointMinutes: number; retentionDays: number | undefined },
): { stop(): void } {
  const timers: NodeJS.Timeout[] = [];
  let busy = false;
  const guarded = (name: string, job: () => Promise<unknown>) => async () => {
    if (busy) return;
    busy = true;
    try {
      const result = await job();
      if (result) logger.info({ job: name, result }, `${name} done`);
    } catch (err) {
      logger.error({ err, job: name }, `${name} failed`);
    } finally {
      busy = false;
    }
  };
  if (options.checkpointMinutes > 0) {
    const checkpoint = guarded('checkpoint', () => createCheckpoint(db, signer, { kind: 'scheduled', onlyIfMoved: true }));
    timers.push(setInterval(checkpoint, options.checkpointMinutes * 60_000));
  }
  if (options.retentionDays !== undefined) {
    const days = options.retentionDays;
    const retention = guarded('retention', async () => {
      const result = await runRetention(db, events, signer, { retentionDays: days });
      return result.deleted > 0 ? result : null;
    });
    timers.push(setTimeout(retention, 5_000), setInterval(retention, HOUR_MS));
  }
  for (const t of timers) t.unref();
  return { stop: () => timers.forEach((t) => clearInterval(t)) };
}
