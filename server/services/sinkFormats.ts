// How a sink writes one event: `vigil` (the event as events.list lists it), `ocsf` (OCSF
// 1.x, through the table below) and `cef` (ArcSight CEF, a line for syslog). Pure
// functions of the stored event: the diff is already masked (secrets never stored).
import type { AuditEvent } from '../../shared/event.js';
import type { SinkFormat } from '../../shared/sinkCatalog.js';
import { DEFAULT_SENSITIVE_ACTIONS, type AuditAction, type ResourceType } from '../../shared/vocabulary.js';

export const OCSF_VERSION = '1.1.0';

/** The OCSF classes Vigil's events fall into. */
export const OCSF_CLASSES = {
  authentication: { class_uid: 3002, class_name: 'Authentication', category_uid: 3, category_name: 'Identity & Access Management' },
  account_change: { class_uid: 3001, class_name: 'Account Change', category_uid: 3, category_name: 'Identity & Access Management' },
  api_activity: { class_uid: 6003, class_name: 'API Activity', category_uid: 6, category_name: 'Application Activity' },
} as const;
export type OcsfClass = keyof typeof OCSF_CLASSES;

type Activity = readonly [id: number, name: string];
const API = { create: [1, 'Create'], read: [2, 'Read'], update: [3, 'Update'], delete: [4, 'Delete'], other: [99, 'Other'] } as const;
const ACCOUNT = { create: [1, 'Create'], delete: [6, 'Delete'], other: [99, 'Other'] } as const;

/**
 * Every action's OCSF activity in each class it can land in. `authentication` set: the
 * action is an Authentication whatever its resource. A new action in shared/vocabulary.ts
 * without a row here does not compile, and a test refuses it too.
 */
export const OCSF_ACTIVITY_BY_ACTION: Record<AuditAction, { api_activity: Activity; account_change: Activity; authentication?: Activity }> = {
  auto_off: { api_activity: API.other, account_change: ACCOUNT.other },
  auto_start: { api_activity: API.other, account_change: ACCOUNT.other },
  connect: { api_activity: API.other, account_change: ACCOUNT.other },
  cordon: { api_activity: API.update, account_change: ACCOUNT.other },
  create: { api_activity: API.create, account_change: ACCOUNT.create },
  delete: { api_activity: API.delete, account_change: ACCOUNT.delete },
  enqueue: { api_activity: API.create, account_change: ACCOUNT.other },
  login: { api_activity: API.other, account_change: ACCOUNT.other, authentication: [1, 'Logon'] },
  open: { api_activity: API.read, account_change: ACCOUNT.other },
  read: { api_activity: API.read, account_change: ACCOUNT.other },
  ssh: { api_activity: API.other, account_change: ACCOUNT.other },
  stop: { api_activity: API.update, account_change: ACCOUNT.other },
  uncordon: { api_activity: API.update, account_change: ACCOUNT.other },
  view: { api_activity: API.read, account_change: ACCOUNT.other },
  write: { api_activity: API.update, account_change: ACCOUNT.other },
};

/** The class of every resource type's changes: user and token changes are Account Change. */
export const OCSF_CLASS_BY_RESOURCE_TYPE: Record<ResourceType, Exclude<OcsfClass, 'authentication'>> = {
  workspace: 'api_activity',
  image: 'api_activity',
  image_tag: 'api_activity',
  template: 'api_activity',
  user: 'account_change',
  dev_url: 'api_activity',
  resource_pool: 'api_activity',
  workspace_provider: 'api_activity',
  job: 'api_activity',
  secret: 'api_activity',
  settings: 'api_activity',
  audit_log: 'api_activity',
  token: 'account_change',
  sink: 'api_activity',
};

export function ocsfClassOf(event: Pick<AuditEvent, 'action' | 'resourceType'>): { cls: OcsfClass; activity: Activity } {
  const row = Object.hasOwn(OCSF_ACTIVITY_BY_ACTION, event.action) ? OCSF_ACTIVITY_BY_ACTION[event.action] : undefined;
  if (!row) throw new Error(`no OCSF mapping for action "${event.action}"`);
  if (row.authentication) return { cls: 'authentication', activity: row.authentication };
  const cls = Object.hasOwn(OCSF_CLASS_BY_RESOURCE_TYPE, event.resourceType) ? OCSF_CLASS_BY_RESOURCE_TYPE[event.resourceType] : undefined;
  if (!cls) throw new Error(`no OCSF class for resource type "${event.resourceType}"`);
  return { cls, activity: row[cls] };
}

/** An OCSF event's first keys, class through type_name (every event of that class and activity has them). */
export function ocsfClassFields(cls: OcsfClass, [activityId, activityName]: Activity): Record<string, unknown> {
  const c = OCSF_CLASSES[cls];
  return {
    class_uid: c.class_uid,
    class_name: c.class_name,
    category_uid: c.category_uid,
    category_name: c.category_name,
    activity_id: activityId,
    activity_name: activityName,
    type_uid: c.class_uid * 100 + activityId,
    type_name: `${c.class_name}: ${activityName}`,
  };
}

// Built property by property, not by spreading: a sink formats every event it delivers,
// and spreads into a large literal cost more than the rest of the event together.
/** One event as an OCSF 1.x event object. */
export function ocsfEvent(event: AuditEvent): Record<string, unknown> {
  const { cls, activity } = ocsfClassOf(event);
  const actor = event.actor;
  const user: Record<string, unknown> = actor ? { name: actor.username } : { name: 'system', type: 'System' };
  if (actor?.id) user.uid = actor.id;
  if (actor?.email) user.email_addr = actor.email;
  const metadata: Record<string, unknown> = {
    uid: event.id,
    version: OCSF_VERSION,
    product: { name: 'Vigil', vendor_name: 'Vigil' },
    log_name: 'audit',
    logged_time: Date.parse(event.recordedAt),
  };
  if (event.requestId) metadata.correlation_uid = event.requestId;
  const resource: Record<string, unknown> = { type: event.resourceType, name: event.resourceTarget };
  if (event.resourceId) resource.uid = event.resourceId;
  // OCSF status from the HTTP status code: below 400 succeeded, else failed; none is unknown.
  const status = event.statusCode;
  const out = ocsfClassFields(cls, activity);
  out.time = Date.parse(event.time);
  out.severity_id = 1;
  out.severity = 'Informational';
  out.status_id = status === null ? 0 : status < 400 ? 1 : 2;
  out.status = status === null ? 'Unknown' : status < 400 ? 'Success' : 'Failure';
  if (status !== null) out.status_code = String(status);
  out.metadata = metadata;
  out.actor = { user };
  if (event.ip) out.src_endpoint = { ip: event.ip };
  if (event.userAgent) out.http_request = { user_agent: event.userAgent };
  out.resources = [resource];
  out.unmapped = { action: event.action, seq: event.seq, hash: event.hash, diff: event.diff, metadata: event.metadata };
  if (cls === 'api_activity') {
    const api: Record<string, unknown> = { operation: event.action };
    if (event.requestId) api.request = { uid: event.requestId };
    out.api = api;
  } else if (cls === 'authentication') {
    out.user = user;
  } else {
    // Account Change: the account changed is the event's resource.
    const changed: Record<string, unknown> = { name: event.resourceTarget };
    if (event.resourceId) changed.uid = event.resourceId;
    out.user = changed;
  }
  return out;
}

/** CEF header fields escape backslash and pipe; extension values backslash, equals and line breaks. */
const cefHeader = (value: string) => value.replace(/[\\|]/g, (c) => `\\${c}`).replace(/[\r\n]+/g, ' ');
const cefValue = (value: string) => value.replace(/[\\=]/g, (c) => `\\${c}`).replace(/\r/g, '\\r').replace(/\n/g, '\\n');

/** CEF severity (0-10): the actions that notify by default rank higher. */
const cefSeverity = (action: AuditAction) => (DEFAULT_SENSITIVE_ACTIONS.includes(action) ? 7 : 3);

/** One event as a CEF line (`CEF:0|Vigil|Vigil|1|<action>|<name>|<severity>|<extension>`). */
export function cefEvent(event: AuditEvent): string {
  const ext: [string, string | number | null | undefined][] = [
    ['rt', Date.parse(event.time)],
    ['act', event.action],
    ['externalId', event.id],
    ['suser', event.actor?.username],
    ['suid', event.actor?.id],
    ['src', event.ip],
    ['requestClientApplication', event.userAgent],
    ['outcome', event.statusCode],
    ['cn1Label', 'seq'],
    ['cn1', event.seq],
    ['cs1Label', 'resourceType'],
    ['cs1', event.resourceType],
    ['cs2Label', 'resourceTarget'],
    ['cs2', event.resourceTarget],
    ['cs3Label', 'resourceId'],
    ['cs3', event.resourceId],
    ['cs4Label', 'requestId'],
    ['cs4', event.requestId],
    ['cs5Label', 'diff'],
    ['cs5', JSON.stringify(event.diff)],
    ['cs6Label', 'metadata'],
    ['cs6', JSON.stringify(event.metadata)],
  ];
  const extension = ext
    .filter(([, v]) => v !== null && v !== undefined)
    .map(([k, v]) => `${k}=${cefValue(String(v))}`)
    .join(' ');
  const name = `${event.action} ${event.resourceType} ${event.resourceTarget}`;
  return `CEF:0|Vigil|Vigil|1|${cefHeader(event.action)}|${cefHeader(name)}|${cefSeverity(event.action)}|${extension}`;
}

/** An event in a JSON format (webhook, Splunk HEC and Datadog carry JSON). */
export function jsonPayload(format: Exclude<SinkFormat, 'cef'>, event: AuditEvent): Record<string, unknown> {
  return format === 'ocsf' ? ocsfEvent(event) : (event as unknown as Record<string, unknown>);
}

/** An event as the text of one message (syslog's MSG). */
export function textPayload(format: SinkFormat, event: AuditEvent): string {
  return format === 'cef' ? cefEvent(event) : JSON.stringify(jsonPayload(format, event));
}
