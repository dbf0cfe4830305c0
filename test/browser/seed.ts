// A realistic, deterministic audit trail for the browser tests and the popup benchmark:
// every action, every resource type, five people and the platform, spread from a few
// seconds ago to four weeks ago (so each time-range chip selects a different set).
import type { EventInput } from '../../shared/event.js';
import { AUDIT_ACTIONS, type AuditAction, type ResourceType } from '../../shared/vocabulary.js';
import type { VigilClient } from '../../shared/client.js';

export const SEED_USERS = ['alice', 'bob', 'carol', 'dave', 'erin'] as const;

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** How long ago event i happened (i = 0 is the newest). */
function ageOf(i: number): number {
  // Kept clear of the 15m, 1h, 24h and 7d edges, so a time chip's result cannot change
  // between the popup's request and the test's own.
  if (i < 8) return 20_000 + i * 90_000; // the last 11 minutes
  if (i < 20) return 16 * MINUTE + (i - 8) * 3.5 * MINUTE; // up to 55 minutes
  if (i < 120) return 62 * MINUTE + (i - 20) * 13 * MINUTE; // up to 22.5 hours
  if (i < 290) return 25 * HOUR + (i - 120) * 0.8 * HOUR; // up to 6.7 days
  return 8 * DAY + (i - 290) * 12 * HOUR; // older
}

const CHANGE_TYPES: ResourceType[] = ['workspace', 'template', 'image', 'image_tag', 'user', 'dev_url', 'resource_pool', 'token', 'settings'];

function resourceTypeFor(action: AuditAction, i: number): ResourceType {
  switch (action) {
    case 'login':
      return 'user';
    case 'connect':
    case 'ssh':
    case 'open':
    case 'stop':
    case 'auto_off':
    case 'auto_start':
      return 'workspace';
    case 'cordon':
    case 'uncordon':
      return 'workspace_provider';
    case 'view':
      return 'secret';
    case 'read':
      return 'audit_log';
    case 'enqueue':
      return 'job';
    default:
      return CHANGE_TYPES[i % CHANGE_TYPES.length]!;
  }
}

function targetFor(type: ResourceType, user: string, i: number): string {
  switch (type) {
    case 'workspace':
      return `${user}/dev-${i % 3}`;
    case 'user':
      return `${user}@example.com`;
    case 'workspace_provider':
      return ['eu-west-1', 'us-east-2'][i % 2]!;
    case 'secret':
      return `${user}/db-password`;
    case 'audit_log':
      return 'audit export';
    case 'job':
      return `build #${1000 + i}`;
    case 'image':
      return 'ubuntu:24.04';
    case 'image_tag':
      return `ubuntu:24.04-r${i % 5}`;
    case 'template':
      return ['go-dev', 'python-ml', 'node-web'][i % 3]!;
    case 'dev_url':
      return `${user}-preview.dev.example.com`;
    case 'resource_pool':
      return ['gpu-a100', 'cpu-large'][i % 2]!;
    case 'token':
      return `${user}/ci-token`;
    case 'settings':
      return 'session lifetime';
    default:
      return `${type}-${i}`;
  }
}

function diffFor(action: AuditAction, target: string, i: number): EventInput['diff'] {
  if (action === 'write') {
    return {
      cpu_cores: { old: 2 + (i % 3), new: 4 + (i % 3) },
      image: { old: 'ubuntu:22.04', new: 'ubuntu:24.04' },
      api_key: { old: 'sk-old-secret', new: 'sk-new-secret', secret: true },
    };
  }
  if (action === 'create') return { name: { new: target }, owner: { new: 'platform' } };
  if (action === 'delete') return { name: { old: target } };
  return undefined;
}

/** The n newest-first events, times relative to `now`. */
export function seedEvents(n: number, now = Date.now()): EventInput[] {
  const events: EventInput[] = [];
  for (let i = 0; i < n; i++) {
    const action = AUDIT_ACTIONS[(i * 7) % AUDIT_ACTIONS.length]!;
    const user = SEED_USERS[i % SEED_USERS.length]!;
    const system = action === 'auto_off' || action === 'auto_start';
    const type = resourceTypeFor(action, i);
    const target = targetFor(type, user, i);
    const diff = diffFor(action, target, i);
    const age = ageOf(i);
    events.push({
      time: new Date(now - age).toISOString(),
      action,
      resourceType: type,
      resourceId: `${type}-${(i * 37) % 997}`,
      resourceTarget: target,
      ...(system ? {} : { actor: { id: `u-${user}`, username: user, email: `${user}@example.com` } }),
      ip: `10.0.${i % 7}.${(i * 13) % 250}`,
      userAgent: i % 2 ? 'coder-cli/2.14' : 'Mozilla/5.0 (X11; Linux x86_64) Chrome/126',
      statusCode: action === 'login' && i % 11 === 0 ? 401 : 200,
      requestId: `req-${i.toString(16).padStart(6, '0')}`,
      ...(diff ? { diff } : {}),
      ...(action === 'read' ? { metadata: { format: 'csv', rows: 1200 + i } } : {}),
    });
  }
  return events;
}

/** Records the seed in batches (oldest first, as they would arrive). */
export async function seed(client: VigilClient, n: number, now = Date.now()): Promise<void> {
  const events = seedEvents(n, now).reverse();
  for (let i = 0; i < events.length; i += 500) {
    await client.events.recordBatch.mutate({ events: events.slice(i, i + 500) });
  }
}
