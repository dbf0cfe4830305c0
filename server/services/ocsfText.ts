// An event's OCSF JSON text written from its listed JSON text (as a sink's read gives it)
// by cutting and joining the values already written there, not by parsing the event into
// objects and writing them again: the same bytes as JSON.stringify(ocsfEvent(event)) for a
// fraction of the CPU (an OCSF sink pays this for every event it delivers). The listed
// text is what JSON.stringify writes (compact, keys in the listed order, so a value copied
// from it is what JSON.stringify would write of it again); anything else takes the long way.
import type { AuditEvent } from '../../shared/event.js';
import { OCSF_VERSION, ocsfClassFields, ocsfClassOf, ocsfEvent, type OcsfClass } from './sinkFormats.js';

const QUOTE = 34;
const BACKSLASH = 92;

/** The index after the JSON string that opens at `i` (-1: not closed). */
function stringEnd(text: string, i: number): number {
  for (let from = i + 1; ; ) {
    const q = text.indexOf('"', from);
    if (q < 0) return -1;
    let k = q - 1;
    while (text.charCodeAt(k) === BACKSLASH) k--;
    // An even number of backslashes before it: the quote is not escaped.
    if ((q - 1 - k) % 2 === 0) return q + 1;
    from = q + 1;
  }
}

/** The index after the JSON value that starts at `i` (-1: not closed). */
function valueEnd(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c === QUOTE) return stringEnd(text, i);
  if (c === 123 || c === 91) {
    let depth = 0;
    for (let j = i; j < text.length; j++) {
      const d = text.charCodeAt(j);
      if (d === QUOTE) {
        j = stringEnd(text, j);
        if (j < 0) return -1;
        j--;
      } else if (d === 123 || d === 91) depth++;
      else if ((d === 125 || d === 93) && --depth === 0) return j + 1;
    }
    return -1;
  }
  // A number, true, false or null: up to the next , } or ].
  let j = i;
  for (; j < text.length; j++) {
    const d = text.charCodeAt(j);
    if (d === 44 || d === 125 || d === 93) break;
  }
  return j > i ? j : -1;
}

/**
 * The values, as JSON text, of the compact JSON object text `text` whose members are
 * exactly those `prefixes` introduce, in that order (as JSON.stringify writes a listed
 * event); null for any other text.
 */
function valuesOf(text: string, prefixes: readonly string[]): string[] | null {
  const values: string[] = [];
  let i = 0;
  for (const prefix of prefixes) {
    if (!text.startsWith(prefix, i)) return null;
    const end = valueEnd(text, i + prefix.length);
    if (end < 0) return null;
    values.push(text.slice(i + prefix.length, end));
    i = end;
  }
  return i === text.length - 1 && text.charCodeAt(i) === 125 ? values : null;
}

/** What precedes each key's value when the members come in this order: `{"first":`, then `,"next":`. */
const prefixesOf = (keys: readonly string[]) => keys.map((key, i) => `${i === 0 ? '{' : ','}${JSON.stringify(key)}:`);

/** A JSON string value's text as the string (null: not a string). */
function unquote(value: string): string | null {
  if (value.charCodeAt(0) !== QUOTE) return null;
  return value.includes('\\') ? (JSON.parse(value) as string) : value.slice(1, -1);
}

/** Whether the value JavaScript makes of this text is truthy (the texts a listed event's optional fields can have). */
const truthy = (value: string) => value !== 'null' && value !== '""' && value !== 'false' && value !== '0';

/** A number as JSON.stringify writes it (NaN: null). */
const numberText = (n: number) => (Number.isFinite(n) ? String(n) : 'null');

const heads = new Map<string, string>();
/** An OCSF event's first keys (class through type_name) as JSON text without the closing brace. */
function headOf(cls: OcsfClass, activity: Parameters<typeof ocsfClassFields>[1]): string {
  const key = `${cls} ${activity[0]}`;
  let head = heads.get(key);
  if (head === undefined) heads.set(key, (head = JSON.stringify(ocsfClassFields(cls, activity)).slice(0, -1)));
  return head;
}

/** The listed event's keys in the order it lists them (toAuditEvent). */
const LISTED_KEYS = ['id', 'seq', 'time', 'recordedAt', 'action', 'resourceType', 'resourceId', 'resourceTarget', 'actor', 'ip', 'userAgent', 'statusCode', 'requestId', 'diff', 'metadata', 'hash'] as const;
const LISTED_PREFIXES = prefixesOf(LISTED_KEYS);
/** Their values' texts, in that order. */
type TextsOf<T extends readonly string[]> = { -readonly [K in keyof T]: string };
type ListedValues = TextsOf<typeof LISTED_KEYS>;
const ACTOR_PREFIXES = prefixesOf(['id', 'username', 'email']);
const METADATA_MIDDLE = `,"version":${JSON.stringify(OCSF_VERSION)},"product":{"name":"Vigil","vendor_name":"Vigil"},"log_name":"audit","logged_time":`;

/** An event's OCSF JSON text from its listed JSON text: JSON.stringify(ocsfEvent(JSON.parse(listed))). */
export function ocsfTextOf(listed: string): string {
  return ocsfTextCut(listed) ?? JSON.stringify(ocsfEvent(JSON.parse(listed) as AuditEvent));
}

/** ocsfTextOf by cutting and joining (null: the text is not as expected; the caller parses it). */
export function ocsfTextCut(listed: string): string | null {
  const values = valuesOf(listed, LISTED_PREFIXES);
  if (!values) return null;
  const [id, seq, timeText, recordedAtText, actionText, resourceTypeText, resourceIdText, resourceTarget, actorText, ip, userAgent, statusCode, requestIdText, diff, metadata, hash] = values as ListedValues;
  const action = unquote(actionText);
  const resourceType = unquote(resourceTypeText);
  const time = unquote(timeText);
  const recordedAt = unquote(recordedAtText);
  if (action === null || resourceType === null || time === null || recordedAt === null) return null;
  const status = statusCode === 'null' ? null : Number(statusCode);
  if (Number.isNaN(status)) return null;
  // Throws for an action or resource type without a row, as ocsfEvent does.
  const { cls, activity } = ocsfClassOf({ action: action as AuditEvent['action'], resourceType: resourceType as AuditEvent['resourceType'] });

  let user: string;
  if (actorText === 'null') user = '{"name":"system","type":"System"}';
  else {
    const actor = valuesOf(actorText, ACTOR_PREFIXES);
    if (!actor) return null;
    const [actorId, name, email] = actor as [string, string, string];
    user = `{"name":${name}${truthy(actorId) ? `,"uid":${actorId}` : ''}${truthy(email) ? `,"email_addr":${email}` : ''}}`;
  }
  const requestId = truthy(requestIdText) ? requestIdText : null;
  const resourceId = truthy(resourceIdText) ? resourceIdText : null;
  let text = `${headOf(cls, activity)},"time":${numberText(Date.parse(time))},"severity_id":1,"severity":"Informational","status_id":`;
  text += status === null ? '0,"status":"Unknown"' : status < 400 ? '1,"status":"Success"' : '2,"status":"Failure"';
  if (status !== null) text += `,"status_code":${JSON.stringify(String(status))}`;
  text += `,"metadata":{"uid":${id}${METADATA_MIDDLE}${numberText(Date.parse(recordedAt))}${requestId ? `,"correlation_uid":${requestId}` : ''}}`;
  text += `,"actor":{"user":${user}}`;
  if (truthy(ip)) text += `,"src_endpoint":{"ip":${ip}}`;
  if (truthy(userAgent)) text += `,"http_request":{"user_agent":${userAgent}}`;
  text += `,"resources":[{"type":${resourceTypeText},"name":${resourceTarget}${resourceId ? `,"uid":${resourceId}` : ''}}]`;
  text += `,"unmapped":{"action":${actionText},"seq":${seq},"hash":${hash},"diff":${diff},"metadata":${metadata}}`;
  if (cls === 'api_activity') text += `,"api":{"operation":${actionText}${requestId ? `,"request":{"uid":${requestId}}` : ''}}`;
  else if (cls === 'authentication') text += `,"user":${user}`;
  else text += `,"user":{"name":${resourceTarget}${resourceId ? `,"uid":${resourceId}` : ''}}`;
  return `${text}}`;
}
