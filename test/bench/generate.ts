// Server-side generation of realistic audit events (one INSERT ... SELECT over
// generate_series), the same SQL on Postgres and PGlite.
//
// The mix: every action of shared/vocabulary.ts with a skew (login/connect common,
// cordon/uncordon/delete rare), ~500 users with a Zipf-like skew (the busiest is an
// automation account, "ci-bot"), system rows without an actor (auto_off/auto_start and
// some writes), resource types that follow the action, stable resource ids, request ids
// shared by ~2 consecutive events, times spread evenly (with jitter) over `spanDays`
// ending at `endIso`, inserted in time order so seq follows time as in a real log.
import { AUDIT_ACTIONS } from '../../shared/vocabulary.js';

/** Per-mille weights of each action; they sum to 1000. */
export const ACTION_WEIGHTS: Record<(typeof AUDIT_ACTIONS)[number], number> = {
  login: 240,
  connect: 200,
  open: 110,
  write: 100,
  ssh: 80,
  read: 50,
  create: 50,
  auto_off: 45,
  stop: 40,
  auto_start: 35,
  enqueue: 25,
  view: 15,
  delete: 8,
  cordon: 1,
  uncordon: 1,
};

const total = Object.values(ACTION_WEIGHTS).reduce((a, b) => a + b, 0);
if (total !== 1000 || Object.keys(ACTION_WEIGHTS).length !== AUDIT_ACTIONS.length) {
  throw new Error('ACTION_WEIGHTS must cover every action and sum to 1000');
}

const FIRST = [
  'ada', 'alan', 'barbara', 'brian', 'carol', 'dennis', 'donald', 'edsger', 'frances', 'grace',
  'guido', 'hedy', 'ivan', 'jean', 'john', 'ken', 'linus', 'margaret', 'niklaus', 'radia',
  'rob', 'sophie', 'tim', 'vint', 'yukihiro',
];
const LAST = [
  'abbott', 'baker', 'chen', 'diaz', 'evans', 'fischer', 'garcia', 'hughes', 'ito', 'jones',
  'kim', 'lopez', 'moreau', 'novak', 'okafor', 'patel', 'rossi', 'silva', 'tanaka', 'weber',
];
export const USER_COUNT = FIRST.length * LAST.length; // 500

/** The username of user index u (0 = "ci-bot", the busiest actor by far). */
export function usernameOf(u: number): string {
  if (u === 0) return 'ci-bot';
  return `${FIRST[u % FIRST.length]}.${LAST[Math.floor(u / FIRST.length) % LAST.length]}`;
}

const AGENTS = [
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
  'coder-cli/2.14.1 (linux/amd64)',
  'coder-cli/2.13.0 (darwin/arm64)',
  'vscode-coder/1.3.2',
  'Go-http-client/1.1',
];

const sqlText = (s: string) => `'${s.replace(/'/g, "''")}'`;
const sqlArray = (items: string[]) => `array[${items.map(sqlText).join(', ')}]::text[]`;

function actionCase(column: string): string {
  let acc = 0;
  const arms = Object.entries(ACTION_WEIGHTS).map(([action, weight]) => {
    acc += weight;
    return `when ${column} < ${acc / 1000} then ${sqlText(action)}`;
  });
  return `case ${arms.join(' ')} else 'login' end`;
}

export interface GenerateOptions {
  /** First and last generate_series value (rows from..to inclusive), so a load can be split. */
  from: number;
  to: number;
  /** Total rows of the whole load (time spacing is span / total). */
  total: number;
  /** The newest event's time. */
  endIso: string;
  spanDays: number;
  /**
   * Fill a `hash` column (the integrity chain) with a 64-hex-digit placeholder per row:
   * the same size as a real SHA-256, but not a valid chain (nothing here verifies it).
   */
  hashColumn?: boolean;
  /**
   * Fill `leaf_hash` (the Merkle leaf the event writer stores) with SHA-256(0x00 ‖ a
   * placeholder): synthetic, not the hash of the row's canonical form (which SQL cannot
   * write), but what the tree's integrator reads and hashes on.
   */
  leafHashColumn?: boolean;
}

/**
 * INSERT ... SELECT of rows from..to. Columns: everything but seq (identity, so it
 * follows insertion order, i.e. time).
 */
export function generateInsertSql(o: GenerateOptions): string {
  const spanMs = o.spanDays * 86_400_000;
  const userName = (index: string) =>
    `(case when ${index} = 0 then 'ci-bot' else (${sqlArray(FIRST)})[1 + ${index} % ${FIRST.length}] || '.' || ` +
    `(${sqlArray(LAST)})[1 + (${index} / ${FIRST.length}) % ${LAST.length}] end)`;
  // r1: action; r2: user; r3: resource type of create/write/delete; r4: which resource;
  // r5: status and system writes; r6: time jitter.
  return `
insert into audit_events (id, time, recorded_at, action, resource_type, resource_id, resource_target,
  actor_id, actor_username, actor_email, ip, user_agent, status_code, request_id, diff, metadata${o.hashColumn ? ', hash' : ''}${o.leafHashColumn ? ', leaf_hash' : ''})
select
  gen_random_uuid(),
  t,
  t + make_interval(secs => r6 * 0.4),
  action,
  rtype,
  case when rtype in ('settings', 'audit_log') then null else md5(rtype || ':' || target)::uuid::text end,
  target,
  case when system then null else 'u-' || lpad(u::text, 4, '0') end,
  case when system then null else username end,
  case when system then null else username || '@example.com' end,
  case when system then null else ('10.' || (u / 256) || '.' || (u % 256) || '.' || (1 + floor(r4 * 250)::int))::inet end,
  case when system then null else (${sqlArray(AGENTS)})[1 + (u + floor(r4 * 3)::int) % ${AGENTS.length}] end,
  case when system then null
       when action = 'login' and r5 < 0.04 then 401
       when r5 < 0.005 then 500
       when r5 < 0.015 then 403
       else 200 end,
  case when system then null else md5('req' || (g / 2))::uuid::text end,
  case when action = 'write' then jsonb_build_object('name', jsonb_build_object('old', 'v' || floor(r4 * 10), 'new', 'v' || floor(r5 * 10)))
       when action = 'create' and rtype = 'token' then '{"token": {"secret": true}}'::jsonb
       else '{}'::jsonb end,
  case when action in ('connect', 'ssh') then jsonb_build_object('client', case when r4 < 0.6 then 'vscode' else 'ssh' end)
       else '{}'::jsonb end${o.hashColumn ? `,
  encode(sha256(('vigil-bench-' || g)::bytea), 'hex')` : ''}${o.leafHashColumn ? `,
  sha256('\\x00'::bytea || convert_to('vigil-bench-leaf-' || g, 'UTF8'))` : ''}
from (
  select l3.*,
    case rtype
      when 'user' then case when action = 'login' then username else ${userName('floor(r4 * 500)::int')} end
      when 'workspace' then username || '/ws-' || floor(r4 * 5)::int
      when 'workspace_provider' then 'provider-' || floor(r4 * 10)::int
      when 'job' then 'job-' || (g % 100000)
      when 'secret' then 'secret-' || floor(r4 * 200)::int
      when 'audit_log' then 'audit log'
      when 'image' then 'image-' || floor(r4 * 50)::int
      when 'image_tag' then 'image-' || floor(r4 * 50)::int || ':v' || floor(r5 * 20)::int
      when 'template' then 'template-' || floor(r4 * 30)::int
      when 'dev_url' then username || '-' || floor(r4 * 3)::int || '.dev'
      when 'resource_pool' then 'pool-' || floor(r4 * 10)::int
      when 'settings' then 'settings'
      else 'token-' || username || '-' || floor(r4 * 4)::int
    end as target
  from (
    select l2.*,
      (action in ('auto_off', 'auto_start') or (action = 'write' and r5 > 0.97)) as system,
      ${userName('u')} as username,
      case action
        when 'login' then 'user'
        when 'connect' then 'workspace' when 'open' then 'workspace' when 'ssh' then 'workspace'
        when 'stop' then 'workspace' when 'auto_off' then 'workspace' when 'auto_start' then 'workspace'
        when 'cordon' then 'workspace_provider' when 'uncordon' then 'workspace_provider'
        when 'enqueue' then 'job' when 'view' then 'secret' when 'read' then 'audit_log'
        else (array['workspace', 'workspace', 'workspace', 'image', 'image_tag', 'template', 'user', 'dev_url',
                    'resource_pool', 'settings', 'token'])[1 + floor(r3 * 11)::int]
      end as rtype
    from (
      select g,
        ${sqlText(o.endIso)}::timestamptz
          - make_interval(secs => ((${o.total}::bigint - g) * ${spanMs / o.total}::float8 + r6 * 2000) / 1000.0) as t,
        ${actionCase('r1')} as action,
        floor(${USER_COUNT} * power(r2, 3))::int as u,
        r3, r4, r5, r6
      from (
        select g, random() as r1, random() as r2, random() as r3, random() as r4, random() as r5, random() as r6
        from generate_series(${o.from}::bigint, ${o.to}::bigint) as g
        offset 0
      ) l1
      offset 0
    ) l2
    offset 0
  ) l3
  offset 0
) l4`;
}
