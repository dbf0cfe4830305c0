// `npm run vigil -- import coder FILE...`: records Coder v2 audit logs as Coder's API
// returns them (`GET /api/v2/audit` answers `{ audit_logs: [...], count }`; a bare array
// is accepted too). Coder's ids are kept, so importing a file twice stores its events once.
//
// Mapping (Coder -> Vigil). Actions: create, write, delete, login, connect, open, stop as
// they are; `stop` whose build_reason is autostop -> auto_off; `start` -> auto_start when
// the build_reason is autostart, else enqueue (a user queued a start build: a `job`; the
// other build actions are about the `workspace`); register ->
// create (an account was created). Coder's logout, disconnect, close and
// request_password_reset have no Vigil meaning: they are SKIPPED and counted, rather
// than recorded as something an auditor would filter for. Resource types: the same name
// where Vigil has it; otherwise the nearest (table below); a type not in the table is
// skipped and counted by name. Everything else Coder says (description, links,
// organization, additional_fields, the original action and type) goes in metadata.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { EventInput, ParsedEventInput } from '../../shared/event.js';
import { EVENT_LIMITS, eventInputSchema } from '../../shared/event.js';
import type { AuditAction, ResourceType } from '../../shared/vocabulary.js';

/** One entry of Coder's `audit_logs` (docs/reference/api/audit.md); everything optional. */
export interface CoderAuditLog {
  id: string;
  time: string;
  action: string;
  resource_type: string;
  resource_id?: string;
  resource_target?: string;
  resource_icon?: string;
  resource_link?: string;
  diff?: Record<string, { old?: unknown; new?: unknown; secret?: boolean }>;
  status_code?: number;
  ip?: string;
  user_agent?: string;
  request_id?: string;
  organization_id?: string;
  organization?: { id?: string; name?: string; display_name?: string };
  additional_fields?: unknown;
  description?: string;
  is_deleted?: boolean;
  user?: { id?: string; username?: string; email?: string; name?: string } | null;
}

const SAME_ACTIONS = new Set(['create', 'write', 'delete', 'login', 'connect', 'open', 'stop']);
/** Coder actions with no Vigil meaning: skipped, counted. */
export const SKIPPED_ACTIONS = new Set(['logout', 'disconnect', 'close', 'request_password_reset']);

/** Coder resource types -> the Vigil type that means the same or comes nearest. */
export const RESOURCE_TYPE_MAP: Record<string, ResourceType> = {
  workspace: 'workspace',
  template: 'template',
  template_version: 'template',
  user: 'user',
  workspace_build: 'job',
  workspace_agent: 'workspace',
  workspace_app: 'workspace',
  workspace_proxy: 'workspace_provider',
  git_ssh_key: 'secret',
  oauth2_provider_app_secret: 'secret',
  api_key: 'token',
  group: 'user',
  organization_member: 'user',
  convert_login: 'user',
  organization: 'settings',
  custom_role: 'settings',
  license: 'settings',
  health_settings: 'settings',
  notifications_settings: 'settings',
  notification_template: 'settings',
  prebuilds_settings: 'settings',
  oauth2_provider_app: 'settings',
  idp_sync_settings_organization: 'settings',
  idp_sync_settings_group: 'settings',
  idp_sync_settings_role: 'settings',
  audit_log: 'audit_log',
};

function buildReason(log: CoderAuditLog): string | undefined {
  let fields = log.additional_fields;
  if (typeof fields === 'string') {
    try {
      fields = JSON.parse(fields);
    } catch {
      return undefined;
    }
  }
  const reason = (fields as { build_reason?: unknown } | null | undefined)?.build_reason;
  return typeof reason === 'string' ? reason : undefined;
}

function mapAction(log: CoderAuditLog): AuditAction | null {
  const action = log.action;
  if (action === 'stop') return buildReason(log) === 'autostop' ? 'auto_off' : 'stop';
  if (action === 'start') return buildReason(log) === 'autostart' ? 'auto_start' : 'enqueue';
  if (action === 'register') return 'create';
  return SAME_ACTIONS.has(action) ? (action as AuditAction) : null;
}

const ZERO_UUID = '00000000-0000-0000-0000-000000000000';
const nonEmpty = (v: unknown, max: number): string | undefined => (typeof v === 'string' && v.trim() ? v.trim().slice(0, max) : undefined);

function jsonSize(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value));
}

export type Mapped = { ok: true; event: EventInput } | { ok: false; reason: string };

/** One Coder log as a Vigil event, or why it is skipped. */
export function mapCoderLog(log: CoderAuditLog): Mapped {
  const action = mapAction(log);
  if (!action) return { ok: false, reason: SKIPPED_ACTIONS.has(log.action) ? `action ${log.action}` : `unknown action ${log.action}` };
  let resourceType = RESOURCE_TYPE_MAP[log.resource_type];
  if (!resourceType) return { ok: false, reason: `unknown resource type ${log.resource_type}` };
  // A build that starts or stops a workspace is about the workspace; one merely queued is a job.
  if (log.resource_type === 'workspace_build' && action !== 'enqueue') resourceType = 'workspace';
  // A failed login of an unknown user has no user; the name tried is its target (as Vigil records its own).
  const user =
    log.user && nonEmpty(log.user.username, 256)
      ? log.user
      : action === 'login' && nonEmpty(log.resource_target, 256)
        ? { username: log.resource_target! }
        : null;
  const metadata: Record<string, unknown> = {
    source: 'coder',
    coder_action: log.action,
    coder_resource_type: log.resource_type,
    ...(log.description ? { description: log.description } : {}),
    ...(log.resource_link ? { resource_link: log.resource_link } : {}),
    ...(log.resource_icon ? { resource_icon: log.resource_icon } : {}),
    ...(log.organization_id && log.organization_id !== ZERO_UUID ? { organization_id: log.organization_id } : {}),
    ...(log.organization?.name ? { organization: log.organization.name } : {}),
    ...(log.is_deleted ? { is_deleted: true } : {}),
    ...(log.additional_fields !== undefined && log.additional_fields !== null ? { additional_fields: log.additional_fields } : {}),
  };
  // Metadata is limited (8 KiB): Coder's free-form parts go first if it does not fit.
  for (const key of ['additional_fields', 'resource_icon', 'description']) {
    if (jsonSize(metadata) <= EVENT_LIMITS.metadataBytes) break;
    delete metadata[key];
    metadata.truncated = true;
  }
  const email = user && typeof user.email === 'string' && /^[^@\s]+@[^@\s]+$/.test(user.email) ? user.email : undefined;
  const event: EventInput = {
    id: log.id,
    time: new Date(log.time).toISOString(),
    action,
    resourceType,
    resourceTarget: nonEmpty(log.resource_target, EVENT_LIMITS.textField) ?? nonEmpty(log.resource_id, EVENT_LIMITS.textField) ?? `(unnamed ${log.resource_type})`,
    ...(nonEmpty(log.resource_id, 256) && log.resource_id !== ZERO_UUID ? { resourceId: log.resource_id!.trim() } : {}),
    ...(user ? { actor: { ...(nonEmpty(user.id, 256) && user.id !== ZERO_UUID ? { id: user.id! } : {}), username: user.username!.trim().slice(0, 256), ...(email ? { email } : {}) } } : {}),
    ...(nonEmpty(log.ip, 64) ? { ip: log.ip!.trim() } : {}),
    ...(nonEmpty(log.user_agent, EVENT_LIMITS.userAgent) ? { userAgent: log.user_agent!.slice(0, EVENT_LIMITS.userAgent) } : {}),
    ...(Number.isInteger(log.status_code) && log.status_code! >= 100 && log.status_code! <= 599 ? { statusCode: log.status_code } : {}),
    ...(nonEmpty(log.request_id, 256) && log.request_id !== ZERO_UUID ? { requestId: log.request_id!.trim() } : {}),
    ...(log.diff && Object.keys(log.diff).length ? { diff: log.diff } : {}),
    metadata,
  };
  return { ok: true, event };
}

export interface ImportSummary {
  file: string;
  read: number;
  imported: number;
  duplicates: number;
  /** Skipped logs by reason ("action logout", "unknown resource type foo", "invalid: ..."). */
  skipped: Record<string, number>;
}

/** Reads the logs of a file: Coder's `{ audit_logs, count }`, or an array of logs. */
export async function readCoderFile(file: string): Promise<CoderAuditLog[]> {
  const parsed: unknown = JSON.parse(await readFile(file, 'utf8'));
  const logs = Array.isArray(parsed) ? parsed : (parsed as { audit_logs?: unknown } | null)?.audit_logs;
  if (!Array.isArray(logs)) throw new Error(`${file}: not Coder audit logs (expected { "audit_logs": [...] } as GET /api/v2/audit answers)`);
  return logs as CoderAuditLog[];
}

/** Records a batch of events, all or nothing (on the database, or through a server). */
export type RecordBatch = (events: ParsedEventInput[]) => Promise<{ duplicate: boolean }[]>;

/**
 * Records the logs (oldest first, in batches, each batch all or nothing) and answers what
 * happened. `onProgress` is called after each batch with (done, total).
 */
export async function importCoderLogs(
  record: RecordBatch,
  file: string,
  logs: CoderAuditLog[],
  options: { batchSize?: number; onProgress?: (done: number, total: number) => void } = {},
): Promise<ImportSummary> {
  const summary: ImportSummary = { file: path.basename(file), read: logs.length, imported: 0, duplicates: 0, skipped: {} };
  const skip = (reason: string) => (summary.skipped[reason] = (summary.skipped[reason] ?? 0) + 1);
  const sorted = [...logs].sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
  const batchSize = options.batchSize ?? 500;
  let batch: ParsedEventInput[] = [];
  let done = 0;
  const send = async () => {
    if (batch.length === 0) return;
    for (const r of await record(batch)) {
      if (r.duplicate) summary.duplicates++;
      else summary.imported++;
    }
    done += batch.length;
    batch = [];
    options.onProgress?.(done, sorted.length);
  };
  for (const log of sorted) {
    if (!log || typeof log !== 'object' || typeof log.id !== 'string' || Number.isNaN(Date.parse(log.time))) {
      skip('invalid: no id or time');
      done++;
      continue;
    }
    const mapped = mapCoderLog(log);
    if (!mapped.ok) {
      skip(mapped.reason);
      done++;
      continue;
    }
    const parsed = eventInputSchema.safeParse(mapped.event);
    if (!parsed.success) {
      skip(`invalid: ${parsed.error.issues[0]!.path.join('.')}: ${parsed.error.issues[0]!.message}`.slice(0, 120));
      done++;
      continue;
    }
    batch.push(parsed.data);
    if (batch.length >= batchSize) await send();
  }
  await send();
  options.onProgress?.(sorted.length, sorted.length);
  return summary;
}

export function describeSummary(s: ImportSummary): string {
  const skipped = Object.entries(s.skipped)
    .sort((a, b) => b[1] - a[1])
    .map(([reason, n]) => `${reason}: ${n}`);
  const skippedTotal = Object.values(s.skipped).reduce((a, b) => a + b, 0);
  return (
    `${s.file}: read ${s.read} Coder audit logs, imported ${s.imported}, already stored ${s.duplicates}, skipped ${skippedTotal}` +
    (skipped.length ? ` (${skipped.join('; ')})` : '')
  );
}
