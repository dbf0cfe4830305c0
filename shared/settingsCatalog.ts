// The admin settings catalog: every row of seed 001's "Admin logged events" tables, each
// classified (Coder's enterprise/audit/table.go discipline: nothing is audited by
// accident). A setting has a label, the audit target, the diff's field name, a value type
// and a display rule; the module refuses to load when an entry is incomplete or
// inconsistent, and test/unit/settingsCatalog.test.ts holds every seed row against it.
//
// Where the seed's own rows look inconsistent, the catalog keeps the label and pairs it
// with the field it evidently means; each such entry carries a `note` saying what the
// seed printed:
//  - TUN/FUSE: the seed pairs "Enable TUN device" with `fuse device` and "Enable FUSE
//    device" with `tun device`. Mapped: TUN -> `tun device`, FUSE -> `fuse device`.
//  - Telemetry: "Send usage telemetry" -> `enhanced telemetry enabled` and "Send enhanced
//    usage telemetry" -> `telemetry enabled` in the seed. Mapped the other way round.
//  - Terms of service: "Terms of Service" -> `tos body` (a text) and "Text field" -> `tos
//    enabled` (true/false) in the seed, unlike the two banners whose named row is the
//    switch. Mapped: "Terms of Service" -> `tos enabled`, "Text field" -> `tos body`.
//  - "Dev URL access permissions" has no target in the seed and the diff
//    `public/org/authed/true/false`: target `infrastructure`, an enum public/org/authed
//    (PRODUCT.md's reading); the trailing true/false is taken for a stray.
//  - "Enable fallback shell support for K8s" has no field and no diff in the seed: field
//    `fallback shell`, enabled/disabled like every other `features` switch.
//  - Template policy: field `commit/file hash/filepath/git ref/From`, diff
//    `0000...0000/ed19...843b/local/local/User`. Read as: the policy is identified by a
//    commit or file hash, shown from -> to (`0000...0000` -> `ed19...843b`); filepath and
//    git ref are `local` for a file uploaded from disk, which is the target `local`; "From
//    User" is who changed it, the event's actor. Field `commit/file hash`.
import { z } from 'zod';
import { unstorableText, type DiffEntry } from './event.js';

/** The audit targets of the seed (`resource_target` of a settings event). */
export const SETTING_TARGETS = [
  'infrastructure',
  'features',
  'oauth configs',
  'system banner',
  'appearance',
  'telemetry',
  'local',
  '*',
] as const;
export type SettingTarget = (typeof SETTING_TARGETS)[number];

/**
 * How a value appears in an audit diff (and in settings.get):
 * - `plain`: as it is (`coder.com`, `#9A4967`, `true`, `enabled`);
 * - `secret`: never shown nor recorded; the diff entry is `{ secret: true }`, shown `******`;
 * - `abbreviated`: first 4 and last 4 characters, `0fb2...7a4a` (ids);
 * - `fromTo`: abbreviated old and new, shown as a pair, `0000...0000 -> ed19...843b` (hashes).
 */
export const DISPLAY_RULES = ['plain', 'secret', 'abbreviated', 'fromTo'] as const;
export type DisplayRule = (typeof DISPLAY_RULES)[number];

export const SECRET_MASK = '******';

export type SettingType =
  | {
      kind: 'string';
      maxLength: number;
      /** `hash`: a git commit or SHA-256, 40 or 64 hex digits, stored lowercase. */
      format?: 'hash';
    }
  /** A host or an http(s) URL (`coder.com`, `https://host.com:8443/x`); empty means unset. */
  | { kind: 'url' }
  /** `#RGB` or `#RRGGBB`, stored as upper-case `#RRGGBB`. */
  | { kind: 'colour' }
  /** Shown `true`/`false` or `enabled`/`disabled` in diffs. */
  | { kind: 'boolean'; shown: 'true/false' | 'enabled/disabled' }
  | { kind: 'enum'; values: readonly [string, ...string[]] };

export interface SettingDefinition {
  /** The admin panel's label, e.g. "Client Secret". */
  label: string;
  target: SettingTarget;
  /** The diff's field name, e.g. `client secret`. */
  field: string;
  type: SettingType;
  display: DisplayRule;
  default: string | boolean;
  /** Where the catalog departs from the seed's row, and why. */
  note?: string;
}

const text = (maxLength = 1024) => ({ kind: 'string', maxLength }) as const;
const TRUE_FALSE = { kind: 'boolean', shown: 'true/false' } as const;
const ENABLED_DISABLED = { kind: 'boolean', shown: 'enabled/disabled' } as const;
const URL_TYPE = { kind: 'url' } as const;
const COLOUR = { kind: 'colour' } as const;

/** Every admin setting, in the seed's order. The key is the setting's stable id (`resource_id`). */
export const SETTINGS = {
  // Infrastructure and features
  accessUrl: { label: 'Access URL', target: 'infrastructure', field: 'access URL', type: URL_TYPE, display: 'plain', default: '' },
  gpuVendor: {
    label: 'GPU Vendor',
    target: 'infrastructure',
    field: 'gpu vendor',
    type: { kind: 'enum', values: ['amd', 'nvidia', 'none'] },
    display: 'plain',
    default: 'none',
  },
  containerVms: {
    label: 'Enable container-based virtual machines',
    target: 'infrastructure',
    field: 'enable container vms',
    type: TRUE_FALSE,
    display: 'plain',
    default: false,
  },
  cachedContainerVms: {
    label: 'Enable caching',
    target: 'infrastructure',
    field: 'enabled cached container vms',
    type: TRUE_FALSE,
    display: 'plain',
    default: false,
  },
  loadShiftfs: {
    label: 'Enable auto loading of shiftfs kernel module',
    target: 'infrastructure',
    field: 'enable load shiftfs',
    type: TRUE_FALSE,
    display: 'plain',
    default: false,
  },
  defaultContainerVms: {
    label: 'Default to container-based virtual machines',
    target: 'infrastructure',
    field: 'default container vms',
    type: TRUE_FALSE,
    display: 'plain',
    default: false,
  },
  agentPullAssets: {
    label: 'Enable self-contained workspace builds',
    target: 'features',
    field: 'coder agent pull assets',
    type: ENABLED_DISABLED,
    display: 'plain',
    default: false,
  },
  exectrace: {
    label: 'Enable workspace process logging',
    target: 'features',
    field: 'exectrace',
    type: ENABLED_DISABLED,
    display: 'plain',
    default: false,
  },
  tunDevice: {
    label: 'Enable TUN device',
    target: 'features',
    field: 'tun device',
    type: ENABLED_DISABLED,
    display: 'plain',
    default: false,
    note: 'The seed pairs "Enable TUN device" with `fuse device` (and FUSE with `tun device`): swapped back.',
  },
  fuseDevice: {
    label: 'Enable FUSE device',
    target: 'features',
    field: 'fuse device',
    type: ENABLED_DISABLED,
    display: 'plain',
    default: false,
    note: 'The seed pairs "Enable FUSE device" with `tun device` (and TUN with `fuse device`): swapped back.',
  },
  defaultRegistry: {
    label: 'Enable default registry',
    target: 'infrastructure',
    field: 'default registry enabled',
    type: TRUE_FALSE,
    display: 'plain',
    default: true,
  },
  ecrAuthIrsa: {
    label: 'Enable ECR IAM role authentication',
    target: 'features',
    field: 'ecr auth irsa',
    type: ENABLED_DISABLED,
    display: 'plain',
    default: false,
  },
  azureAuthAad: {
    label: 'Enable AAD authentication for ACR',
    target: 'features',
    field: 'azure auth aad',
    type: ENABLED_DISABLED,
    display: 'plain',
    default: false,
  },
  fallbackShell: {
    label: 'Enable fallback shell support for K8s',
    target: 'features',
    field: 'fallback shell',
    type: ENABLED_DISABLED,
    display: 'plain',
    default: false,
    note: 'The seed gives no field and no diff for this row: field `fallback shell`, enabled/disabled like the other `features` switches.',
  },
  extMarketplaceType: {
    label: 'Extension marketplace type',
    target: '*',
    field: 'ext marketplace type',
    type: { kind: 'enum', values: ['public', 'custom'] },
    display: 'plain',
    default: 'public',
  },
  devurlAccess: {
    label: 'Dev URL access permissions',
    target: 'infrastructure',
    field: 'devurl access',
    type: { kind: 'enum', values: ['public', 'org', 'authed'] },
    display: 'plain',
    default: 'org',
    note: 'The seed gives no target and the diff `public/org/authed/true/false`: target `infrastructure`, enum public/org/authed (the trailing true/false taken for a stray).',
  },
  memoryOverprovisioning: {
    label: 'Enable memory overprovisioning',
    target: 'infrastructure',
    field: 'memory overprovisioning enabled',
    type: TRUE_FALSE,
    display: 'plain',
    default: false,
  },

  // Git OAuth
  oauthClientId: { label: 'Client ID', target: 'oauth configs', field: 'client id', type: text(256), display: 'abbreviated', default: '' },
  oauthClientSecret: {
    label: 'Client Secret',
    target: 'oauth configs',
    field: 'client secret',
    type: text(1024),
    display: 'secret',
    default: '',
  },
  oauthDescription: { label: 'Description', target: 'oauth configs', field: 'description', type: text(), display: 'plain', default: '' },
  oauthName: { label: 'Name', target: 'oauth configs', field: 'name', type: text(256), display: 'plain', default: '' },
  oauthServiceType: {
    label: 'Provider',
    target: 'oauth configs',
    field: 'service type',
    type: { kind: 'enum', values: ['github', 'gitlab'] },
    display: 'plain',
    default: 'github',
  },
  oauthUrlHost: { label: 'URL', target: 'oauth configs', field: 'URL host', type: URL_TYPE, display: 'plain', default: '' },

  // System banner, service banner, terms of service
  systemBannerEnabled: { label: 'System Banner', target: 'system banner', field: 'enabled', type: TRUE_FALSE, display: 'plain', default: false },
  systemBannerColorBg: {
    label: 'Background color',
    target: 'system banner',
    field: 'color bg',
    type: COLOUR,
    display: 'plain',
    default: '#000000',
  },
  systemBannerFooter: { label: 'Footer', target: 'system banner', field: 'text footer', type: text(), display: 'plain', default: '' },
  systemBannerHeader: { label: 'Header', target: 'system banner', field: 'text header', type: text(), display: 'plain', default: '' },
  serviceBannerEnabled: {
    label: 'Service Banner',
    target: 'appearance',
    field: 'svc banner enabled',
    type: TRUE_FALSE,
    display: 'plain',
    default: false,
  },
  serviceBannerColorBg: {
    label: 'Background color',
    target: 'appearance',
    field: 'svc banner color bg',
    type: COLOUR,
    display: 'plain',
    default: '#000000',
  },
  serviceBannerBody: { label: 'Message', target: 'appearance', field: 'svc banner body', type: text(), display: 'plain', default: '' },
  tosEnabled: {
    label: 'Terms of Service',
    target: 'appearance',
    field: 'tos enabled',
    type: TRUE_FALSE,
    display: 'plain',
    default: false,
    note: 'The seed pairs "Terms of Service" with `tos body` and "Text field" with `tos enabled`; like the banners, the named row is the switch: swapped back.',
  },
  tosBody: {
    label: 'Text field',
    target: 'appearance',
    field: 'tos body',
    type: text(16_384),
    display: 'plain',
    default: '',
    note: 'The seed pairs "Text field" with `tos enabled` and "Terms of Service" with `tos body`: swapped back.',
  },

  // Telemetry
  crashReports: {
    label: 'Send crash reports',
    target: 'telemetry',
    field: 'crash reports enabled',
    type: TRUE_FALSE,
    display: 'plain',
    default: true,
  },
  usageTelemetry: {
    label: 'Send usage telemetry',
    target: 'telemetry',
    field: 'telemetry enabled',
    type: TRUE_FALSE,
    display: 'plain',
    default: true,
    note: 'The seed pairs "Send usage telemetry" with `enhanced telemetry enabled` (and the enhanced row with `telemetry enabled`): swapped back.',
  },
  enhancedTelemetry: {
    label: 'Send enhanced usage telemetry',
    target: 'telemetry',
    field: 'enhanced telemetry enabled',
    type: TRUE_FALSE,
    display: 'plain',
    default: false,
    note: 'The seed pairs "Send enhanced usage telemetry" with `telemetry enabled` (and the usage row with `enhanced telemetry enabled`): swapped back.',
  },

  // Workspace templates
  workspacesAsCode: {
    label: 'Enable workspace templates',
    target: 'infrastructure',
    field: 'enable workspaces as code',
    type: TRUE_FALSE,
    display: 'plain',
    default: false,
  },
  templatePolicy: {
    label: 'Template policy',
    target: 'local',
    field: 'commit/file hash',
    type: { kind: 'string', maxLength: 64, format: 'hash' },
    display: 'fromTo',
    default: '0'.repeat(64),
    note: 'The seed row lists commit/file hash/filepath/git ref/From = 0000...0000/ed19...843b/local/local/User: the commit or file hash shown from -> to; filepath and git ref are `local` (the target) for a file uploaded from disk; From is the actor.',
  },
} as const satisfies Record<string, SettingDefinition>;

export type SettingKey = keyof typeof SETTINGS;
export const SETTING_KEYS = Object.keys(SETTINGS) as [SettingKey, ...SettingKey[]];

type TypeOf<K extends SettingKey> = (typeof SETTINGS)[K]['type'];
/** The value a setting holds: booleans for switches, an enum's values, strings otherwise. */
export type SettingValue<K extends SettingKey = SettingKey> = TypeOf<K> extends { kind: 'boolean' }
  ? boolean
  : TypeOf<K> extends { kind: 'enum'; values: readonly (infer V)[] }
    ? V
    : string;

// ---------------------------------------------------------------- values and validation

const HASH = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;
const COLOUR_RE = /^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/i;

/** A host or an http(s) URL: `coder.com`, `host.com:8443`, `https://coder.example.com/x`. */
function isHostOrUrl(value: string): boolean {
  if (value.length > 2048 || /\s/.test(value)) return false;
  try {
    const url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `https://${value}`);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.hostname.length > 0 && !url.username && !url.password;
  } catch {
    return false;
  }
}

/**
 * The schema of one setting's value: validates (the message names the setting by its
 * label) and normalises (colours upper-case, hashes lower-case, urls trimmed). A secret's
 * value never appears in a message.
 */
export function settingValueSchema(def: SettingDefinition): z.ZodType<string | boolean> {
  const label = def.label;
  const got = (input: unknown) => (def.display === 'secret' ? '' : `, got ${JSON.stringify(input)?.slice(0, 80) ?? 'nothing'}`);
  const mustBe = (what: string) => (issue: { input: unknown }) => `${label} must be ${what}${got(issue.input)}`;
  const type = def.type;
  switch (type.kind) {
    case 'boolean':
      return z.boolean({ error: mustBe(`true or false (shown ${type.shown})`) });
    case 'enum':
      return z.enum(type.values as [string, ...string[]], { error: mustBe(`one of ${type.values.join(', ')}`) });
    case 'colour':
      return z
        .string({ error: mustBe('a colour like #9A4967') })
        .trim()
        .refine((v) => COLOUR_RE.test(v), { error: mustBe('a colour like #9A4967') })
        .transform((v) => {
          const hex = v.slice(1).toUpperCase();
          return `#${hex.length === 3 ? [...hex].map((c) => c + c).join('') : hex}`;
        });
    case 'url':
      return z
        .string({ error: mustBe('a host or an http(s) URL, like coder.com') })
        .trim()
        .refine((v) => v === '' || isHostOrUrl(v), { error: mustBe('a host or an http(s) URL, like coder.com') });
    case 'string': {
      if (type.format === 'hash') {
        return z
          .string({ error: mustBe('a commit or file hash (40 or 64 hex digits)') })
          .trim()
          .transform((v) => v.toLowerCase())
          .refine((v) => HASH.test(v), { error: mustBe('a commit or file hash (40 or 64 hex digits)') });
      }
      return z
        .string({ error: mustBe('text') })
        .max(type.maxLength, { error: `${label} takes at most ${type.maxLength} characters` })
        .refine((v) => !/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(v), {
          error: `${label} may not hold control characters`,
        })
        .refine((v) => unstorableText(v) === null, { error: `${label} may not hold unpaired UTF-16 surrogates` });
    }
  }
}

type ChangesShape = { [K in SettingKey]: z.ZodOptional<z.ZodType<SettingValue<K>>> };

function buildChangesSchema() {
  const shape = Object.fromEntries(SETTING_KEYS.map((key) => [key, settingValueSchema(SETTINGS[key]).optional()]));
  return z.strictObject(shape as unknown as ChangesShape, {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `unknown setting ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}; valid settings: ${SETTING_KEYS.join(', ')}`
        : undefined,
  });
}

/** `settings.update`'s `changes`: any subset of the settings, each validated against the catalog. */
export const settingsChangesSchema = buildChangesSchema();

// ---------------------------------------------------------------- display and diffs

/** First 4 and last 4 characters (`0fb2...7a4a`); short values are shown whole. */
export function abbreviate(value: string): string {
  return value.length > 11 ? `${value.slice(0, 4)}...${value.slice(-4)}` : value;
}

/** A value as diffs and settings.get show it, by the setting's type and display rule. */
export function displayValue(def: SettingDefinition, value: string | boolean): string | boolean {
  if (def.display === 'secret') return value === '' ? '' : SECRET_MASK;
  if (typeof value === 'boolean') {
    if (def.type.kind === 'boolean' && def.type.shown === 'enabled/disabled') return value ? 'enabled' : 'disabled';
    return value;
  }
  if (def.display === 'abbreviated' || def.display === 'fromTo') return abbreviate(value);
  return value;
}

/** The audit diff entry of a change, or null when the value did not change. */
export function settingDiffEntry(def: SettingDefinition, oldValue: string | boolean, newValue: string | boolean): DiffEntry | null {
  if (oldValue === newValue) return null;
  if (def.display === 'secret') return { secret: true };
  return { old: displayValue(def, oldValue), new: displayValue(def, newValue) };
}

/** One line for a diff entry, as the seed shows it: `coder.com`, `******`, `0fb2...7a4a`, `0000...0000 -> ed19...843b`. */
export function describeSettingChange(def: SettingDefinition, entry: DiffEntry): string {
  if (entry.secret || def.display === 'secret') return SECRET_MASK;
  const show = (v: unknown) => (v === undefined ? '' : String(v));
  return def.display === 'fromTo' ? `${show(entry.old)} -> ${show(entry.new)}` : show(entry.new);
}

// ---------------------------------------------------------------- the catalog's own check

/**
 * Everything wrong with a catalog (empty when sound): every entry classified with a known
 * display rule, a known target and a value type; a default its own type accepts; secret,
 * abbreviated and from/to rules only on text; secrets default to empty; field names unique
 * per target.
 */
export function catalogProblems(catalog: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const [key, raw] of Object.entries(catalog)) {
    const def = raw as Partial<SettingDefinition> | undefined;
    const at = `setting ${key}`;
    if (!def || typeof def !== 'object') {
      problems.push(`${at}: not a definition`);
      continue;
    }
    if (!/^[a-z][a-zA-Z0-9]*$/.test(key)) problems.push(`${at}: keys are camelCase`);
    if (typeof def.label !== 'string' || def.label === '') problems.push(`${at}: no label`);
    if (typeof def.field !== 'string' || def.field === '') problems.push(`${at}: no field name`);
    if (!(SETTING_TARGETS as readonly unknown[]).includes(def.target)) problems.push(`${at}: unknown target ${JSON.stringify(def.target)}`);
    if (def.display === undefined) {
      problems.push(`${at}: no display rule (one of ${DISPLAY_RULES.join(', ')})`);
      continue;
    }
    if (!(DISPLAY_RULES as readonly unknown[]).includes(def.display)) {
      problems.push(`${at}: unknown display rule ${JSON.stringify(def.display)}`);
      continue;
    }
    const kind = (def.type as { kind?: unknown } | undefined)?.kind;
    if (!['string', 'url', 'colour', 'boolean', 'enum'].includes(kind as string)) {
      problems.push(`${at}: no value type`);
      continue;
    }
    if (def.display !== 'plain' && kind !== 'string') problems.push(`${at}: display ${def.display} needs a text value, not ${String(kind)}`);
    if (def.display === 'secret' && def.default !== '') problems.push(`${at}: a secret's default must be empty`);
    if (kind === 'enum' && !((def.type as { values?: unknown[] }).values?.length ?? 0)) problems.push(`${at}: an enum without values`);
    const unique = `${String(def.target)}\u0000${String(def.field)}`;
    if (seen.has(unique)) problems.push(`${at}: field ${JSON.stringify(def.field)} twice in target ${JSON.stringify(def.target)}`);
    seen.add(unique);
    const parsed = settingValueSchema(def as SettingDefinition).safeParse(def.default);
    if (!parsed.success || parsed.data !== def.default) problems.push(`${at}: default ${JSON.stringify(def.default)} is not a valid value`);
  }
  return problems;
}

// Refuse to load with an unclassified or inconsistent setting (the server cannot start).
const problems = catalogProblems(SETTINGS);
if (problems.length > 0) throw new Error(`settings catalog: ${problems.join('; ')}`);
