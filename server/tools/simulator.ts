// A simulated Coder-like deployment, for `npm run demo`, tests and benchmarks: people log
// in (some fail), connect to their workspaces from VS Code, JetBrains or SSH, open the web
// IDE, build and delete workspaces; the platform auto-stops idle workspaces at night and
// starts them on schedule in the morning; operators cordon a provider for maintenance and
// uncordon it later, change admin settings (the seed's "Admin logged events", secrets
// masked), push images and templates; the CLI reads secrets; auditors export.
//
// Deterministic for a seed. Events carry their own `time` (the simulated clock) and an id.
import type { EventInput } from '../../shared/event.js';

/** mulberry32: small, fast and good enough for a simulation (and the benchmark's events). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FIRST = ['ada', 'alan', 'barbara', 'brian', 'carol', 'dennis', 'edsger', 'frances', 'grace', 'guido', 'hedy', 'ken', 'linus', 'margaret', 'radia', 'sophie', 'tim', 'vint'];
const LAST = ['chen', 'diaz', 'evans', 'garcia', 'ito', 'kim', 'lopez', 'novak', 'okafor', 'patel', 'rossi', 'tanaka'];
const WORKSPACE_NAMES = ['dev', 'api', 'frontend', 'ml-notebook', 'scratch', 'infra', 'docs'];
const PROVIDERS = ['aws-eu-west-1', 'aws-us-east-2', 'gcp-europe-west4', 'onprem-k8s-a', 'onprem-k8s-b'];
const TEMPLATES = ['docker-go', 'docker-node', 'k8s-python-gpu', 'aws-linux', 'jetbrains-gateway'];
const IMAGES = ['coder/enterprise-base', 'coder/enterprise-golang', 'coder/enterprise-node', 'acme/ml-cuda'];
const AGENTS = {
  browser: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36',
  mac: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
  cli: 'coder-cli/2.14.1 (linux/amd64)',
  vscode: 'vscode-coder/1.3.2',
  jetbrains: 'JetBrains-Gateway/2024.1',
};

/** Admin settings and their diffs, after the seed's "Admin logged events" tables. */
const SETTINGS: { target: string; field: string; values: () => [unknown, unknown]; secret?: boolean }[] = [
  { target: 'infrastructure', field: 'access URL', values: () => ['coder.acme.internal', 'coder.acme.com'] },
  { target: 'infrastructure', field: 'gpu vendor', values: () => ['none', 'nvidia'] },
  { target: 'infrastructure', field: 'enable container vms', values: () => [false, true] },
  { target: 'infrastructure', field: 'memory overprovisioning enabled', values: () => [true, false] },
  { target: 'features', field: 'exectrace', values: () => ['disabled', 'enabled'] },
  { target: 'features', field: 'tun device', values: () => ['disabled', 'enabled'] },
  { target: 'oauth configs', field: 'client id', values: () => ['0fb2...7a4a', '91c3...e0d2'] },
  { target: 'oauth configs', field: 'client secret', values: () => [null, null], secret: true },
  { target: 'system banner', field: 'text header', values: () => ['', 'UNCLASSIFIED'] },
  { target: 'system banner', field: 'color bg', values: () => ['#18382D', '#9A4967'] },
  { target: 'appearance', field: 'svc banner body', values: () => ['', 'Maintenance 9:01PM'] },
];

export interface SimUser {
  id: string;
  username: string;
  email: string;
  ip: string;
  workspaces: string[];
  client: keyof typeof AGENTS;
}

export interface SimulatorOptions {
  seed?: number;
  /** People in the deployment (default 40). */
  users?: number;
}

export interface Simulator {
  users: readonly SimUser[];
  /** One plausible event at `time`, given the hour of day (UTC) there. */
  next(time: Date): EventInput & { id: string; time: string };
  /**
   * Events spread over `days` ending at `end`, about `perDay` a day, busier in working
   * hours, oldest first.
   */
  backfill(days: number, perDay: number, end?: Date): Generator<EventInput & { id: string; time: string }>;
}

/** Relative activity per UTC hour: quiet nights, a morning and an afternoon peak. */
const HOURLY = [0.15, 0.1, 0.1, 0.1, 0.15, 0.3, 0.6, 1.2, 1.8, 2, 1.9, 1.6, 1.3, 1.7, 1.9, 1.8, 1.5, 1.1, 0.7, 0.5, 0.4, 0.3, 0.25, 0.2];

export function createSimulator(options: SimulatorOptions = {}): Simulator {
  const random = prng(options.seed ?? 42);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const chance = (p: number) => random() < p;
  const id = () => {
    // Deterministic UUIDs (v4 layout) from the generator, so a seeded run repeats exactly.
    const hex = Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16)).join('');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${'89ab'[Math.floor(random() * 4)]}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
  };

  const users: SimUser[] = Array.from({ length: options.users ?? 40 }, (_, i) => {
    const username = i === 0 ? 'ci-bot' : `${FIRST[i % FIRST.length]}.${LAST[Math.floor(i / FIRST.length) % LAST.length]}${i >= FIRST.length * LAST.length ? i : ''}`;
    const count = 1 + Math.floor(random() * 3);
    return {
      id: id(),
      username,
      email: `${username}@acme.example`,
      ip: i % 7 === 0 ? `2001:db8:${(i * 37).toString(16)}::${(i % 250) + 1}` : `10.${20 + (i % 8)}.${i % 256}.${1 + Math.floor(random() * 250)}`,
      workspaces: Array.from(new Set(Array.from({ length: count }, () => pick(WORKSPACE_NAMES)))).map((w) => `${username}/${w}`),
      client: pick(['vscode', 'vscode', 'jetbrains', 'cli', 'browser', 'mac'] as const),
    };
  });
  const operators = users.slice(1, 4);
  const running = new Set<string>();
  const cordoned = new Set<string>();
  let requestSerial = 0;

  const actorOf = (u: SimUser) => ({ id: u.id, username: u.username, email: u.email });
  const by = (u: SimUser, agent: keyof typeof AGENTS = u.client) => ({
    actor: actorOf(u),
    ip: u.ip,
    userAgent: AGENTS[agent],
    requestId: `req-${(++requestSerial).toString(36)}-${Math.floor(random() * 1e9).toString(36)}`,
    statusCode: 200,
  });

  function next(at: Date): EventInput & { id: string; time: string } {
    const time = at.toISOString();
    const hour = at.getUTCHours();
    const night = hour >= 21 || hour < 6;
    const base = { id: id(), time };
    const user = pick(users.slice(1));
    const workspace = pick(user.workspaces);
    const roll = random();

    // Nights: the platform stops what is idle; mornings: scheduled starts.
    if (night && roll < 0.55) {
      const idle = [...running].find(() => chance(0.3)) ?? pick(pick(users).workspaces);
      running.delete(idle);
      return { ...base, action: 'auto_off', resourceType: 'workspace', resourceTarget: idle, resourceId: `ws-${idle}`, metadata: { reason: 'inactivity', idleMinutes: 60 + Math.floor(random() * 240) } };
    }
    if (hour >= 6 && hour < 9 && roll < 0.25) {
      running.add(workspace);
      return { ...base, action: 'auto_start', resourceType: 'workspace', resourceTarget: workspace, resourceId: `ws-${workspace}`, metadata: { schedule: 'weekdays 07:00' } };
    }

    const r = random();
    if (r < 0.2) {
      // Logins; about one in eight fails, some from names that do not exist (Coder #4431).
      if (chance(0.12)) {
        const stranger = chance(0.3);
        const name = stranger ? pick(['admin', 'root', 'test', 'oracle', 'jenkins']) : user.username;
        return { ...base, action: 'login', resourceType: 'user', resourceTarget: name, actor: { username: name }, ip: stranger ? `203.0.113.${1 + Math.floor(random() * 250)}` : user.ip, userAgent: AGENTS.browser, statusCode: 401, metadata: { outcome: stranger ? 'unknown_user' : 'wrong_password', method: 'password' } };
      }
      return { ...base, action: 'login', resourceType: 'user', resourceTarget: user.username, resourceId: user.id, ...by(user, 'browser'), metadata: { outcome: 'ok', method: chance(0.6) ? 'oidc' : 'password' } };
    }
    if (r < 0.45) {
      running.add(workspace);
      const via = user.client === 'jetbrains' ? 'jetbrains-gateway' : user.client === 'cli' ? 'coder ssh' : user.client === 'vscode' ? 'vscode' : 'ssh';
      return { ...base, action: 'connect', resourceType: 'workspace', resourceTarget: workspace, resourceId: `ws-${workspace}`, ...by(user), metadata: { client: via, agent: 'main' } };
    }
    if (r < 0.55) {
      running.add(workspace);
      return { ...base, action: 'open', resourceType: 'workspace', resourceTarget: workspace, resourceId: `ws-${workspace}`, ...by(user, 'browser'), metadata: { app: 'code-server' } };
    }
    if (r < 0.62) return { ...base, action: 'ssh', resourceType: 'workspace', resourceTarget: workspace, resourceId: `ws-${workspace}`, ...by(user, 'browser') };
    if (r < 0.67) {
      running.delete(workspace);
      return { ...base, action: 'stop', resourceType: 'workspace', resourceTarget: workspace, resourceId: `ws-${workspace}`, ...by(user) };
    }
    if (r < 0.72) {
      const template = pick(TEMPLATES);
      return { ...base, action: 'enqueue', resourceType: 'job', resourceTarget: `build ${workspace}`, resourceId: `job-${Math.floor(random() * 1e6)}`, ...by(user, 'cli'), metadata: { kind: 'workspace_build', template, transition: pick(['start', 'stop', 'start']) } };
    }
    if (r < 0.77) {
      return { ...base, action: 'write', resourceType: 'workspace', resourceTarget: workspace, resourceId: `ws-${workspace}`, ...by(user, 'browser'), diff: { autostop_ttl: { old: '8h', new: pick(['2h', '4h', '12h']) }, template_version: { old: 'v12', new: 'v13' } } };
    }
    if (r < 0.8) {
      const target = `${user.username}/${pick(WORKSPACE_NAMES)}-${Math.floor(random() * 100)}`;
      return { ...base, action: 'create', resourceType: 'workspace', resourceTarget: target, resourceId: `ws-${target}`, ...by(user, 'browser'), diff: { name: { new: target.split('/')[1] }, template: { new: pick(TEMPLATES) } } };
    }
    if (r < 0.82) {
      running.delete(workspace);
      return { ...base, action: 'delete', resourceType: 'workspace', resourceTarget: workspace, resourceId: `ws-${workspace}`, ...by(user, 'browser'), metadata: { orphan: false } };
    }
    if (r < 0.85) return { ...base, action: 'view', resourceType: 'secret', resourceTarget: pick(['AWS_ACCESS_KEY', 'NPM_TOKEN', 'GITHUB_APP_KEY', 'DB_PASSWORD']), ...by(user, 'cli') };
    const operator = pick(operators);
    if (r < 0.854) {
      // Maintenance (rare: a cordon is a sensitive action and notifies): cordon a provider, and uncordon one that is cordoned.
      const provider = cordoned.size > 0 && chance(0.6) ? pick([...cordoned]) : pick(PROVIDERS);
      const action = cordoned.has(provider) ? 'uncordon' : 'cordon';
      if (action === 'cordon') cordoned.add(provider);
      else cordoned.delete(provider);
      return { ...base, action, resourceType: 'workspace_provider', resourceTarget: provider, resourceId: `provider-${provider}`, ...by(operator, 'browser'), metadata: { reason: action === 'cordon' ? pick(['kernel upgrade', 'node pool resize', 'capacity']) : 'maintenance done' } };
    }
    if (r < 0.9) {
      const setting = pick(SETTINGS);
      const [oldValue, newValue] = chance(0.5) ? setting.values() : (setting.values().reverse() as [unknown, unknown]);
      return {
        ...base,
        action: 'write',
        resourceType: 'settings',
        resourceTarget: setting.target,
        ...by(operator, 'browser'),
        diff: { [setting.field]: setting.secret ? { secret: true } : { old: oldValue, new: newValue } },
      };
    }
    if (r < 0.93) {
      const image = pick(IMAGES);
      return chance(0.5)
        ? { ...base, action: 'create', resourceType: 'image_tag', resourceTarget: `${image}:v${Math.floor(random() * 40)}`, ...by(users[0]!, 'cli') }
        : { ...base, action: 'write', resourceType: 'template', resourceTarget: pick(TEMPLATES), ...by(operator, 'browser'), diff: { version: { old: `v${Math.floor(random() * 20)}`, new: `v${20 + Math.floor(random() * 5)}` } } };
    }
    if (r < 0.95) return { ...base, action: 'create', resourceType: 'dev_url', resourceTarget: `${user.username}-${Math.floor(random() * 9)}.dev.acme.example`, ...by(user, 'browser'), diff: { access: { new: pick(['private', 'org', 'authed', 'public']) } } };
    if (r < 0.97) return { ...base, action: 'write', resourceType: 'user', resourceTarget: user.email, resourceId: user.id, ...by(operator, 'browser'), diff: { roles: { old: ['member'], new: ['member', 'template-admin'] } } };
    if (r < 0.985) return { ...base, action: 'create', resourceType: 'token', resourceTarget: `${user.username}-cli-token`, ...by(user, 'cli'), diff: { token: { secret: true }, lifetime: { new: '30d' } } };
    if (r < 0.993) return { ...base, action: 'write', resourceType: 'resource_pool', resourceTarget: `pool-${pick(PROVIDERS)}`, ...by(operator, 'browser'), diff: { max_workspaces: { old: 40, new: 60 } } };
    return { ...base, action: 'read', resourceType: 'audit_log', resourceTarget: 'audit_events', ...by(operator, 'browser'), metadata: { export: true, query: pick(['action:delete since:7d', 'resource_type:settings', 'action:cordon,uncordon']), format: pick(['csv', 'ndjson']) } };
  }

  function* backfill(days: number, perDay: number, end: Date = new Date()) {
    const start = end.getTime() - days * 86_400_000;
    const weight = HOURLY.reduce((a, b) => a + b, 0);
    for (let hourStart = start; hourStart < end.getTime(); hourStart += 3_600_000) {
      const hour = new Date(hourStart).getUTCHours();
      const n = Math.round((perDay * HOURLY[hour]!) / weight * (0.7 + random() * 0.6));
      const times = Array.from({ length: n }, () => hourStart + Math.floor(random() * 3_600_000)).filter((t) => t < end.getTime()).sort((a, b) => a - b);
      for (const t of times) yield next(new Date(t));
    }
  }

  return { users, next, backfill };
}
