// The settings catalog against seed 001's "Admin logged events" tables: every seed row has
// its setting (target, field, value type, display rule), every setting comes from a seed
// row, and a setting without a display rule fails (at compile time and at run time).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  SETTINGS,
  SETTING_KEYS,
  abbreviate,
  catalogProblems,
  describeSettingChange,
  displayValue,
  settingDiffEntry,
  settingsChangesSchema,
  type SettingDefinition,
  type SettingKey,
} from '../../shared/settingsCatalog.js';

type Expect = {
  key: SettingKey;
  target: string;
  field: string;
  display: 'plain' | 'secret' | 'abbreviated' | 'fromTo';
  type: string;
};

/**
 * Every row of the seed's tables, verbatim (label, action, target, field, diff), with the
 * setting it maps to. Where the seed looks inconsistent the expectation differs from the
 * seed's columns, and the setting carries a note.
 */
const SEED_ROWS: [label: string, action: string, target: string, field: string, diff: string, expected: Expect][] = [
  ['Access URL', 'Write', 'infrastructure', 'access URL', 'coder.com', { key: 'accessUrl', target: 'infrastructure', field: 'access URL', display: 'plain', type: 'url' }],
  ['GPU Vendor', 'Write', 'infrastructure', 'gpu vendor', 'amd/nvidia/none', { key: 'gpuVendor', target: 'infrastructure', field: 'gpu vendor', display: 'plain', type: 'enum:amd/nvidia/none' }],
  ['Enable container-based virtual machines', 'Write', 'infrastructure', 'enable container vms', 'true/false', { key: 'containerVms', target: 'infrastructure', field: 'enable container vms', display: 'plain', type: 'boolean:true/false' }],
  ['Enable caching', 'Write', 'infrastructure', 'enabled cached container vms', 'true/false', { key: 'cachedContainerVms', target: 'infrastructure', field: 'enabled cached container vms', display: 'plain', type: 'boolean:true/false' }],
  ['Enable auto loading of shiftfs kernel module', 'Write', 'infrastructure', 'enable load shiftfs', 'true/false', { key: 'loadShiftfs', target: 'infrastructure', field: 'enable load shiftfs', display: 'plain', type: 'boolean:true/false' }],
  ['Default to container-based virtual machines', 'Write', 'infrastructure', 'default container vms', 'true/false', { key: 'defaultContainerVms', target: 'infrastructure', field: 'default container vms', display: 'plain', type: 'boolean:true/false' }],
  ['Enable self-contained workspace builds', 'Write', 'features', 'coder agent pull assets', 'enabled/disabled', { key: 'agentPullAssets', target: 'features', field: 'coder agent pull assets', display: 'plain', type: 'boolean:enabled/disabled' }],
  ['Enable workspace process logging', 'Write', 'features', 'exectrace', 'enabled/disabled', { key: 'exectrace', target: 'features', field: 'exectrace', display: 'plain', type: 'boolean:enabled/disabled' }],
  // Inconsistent: TUN and FUSE fields swapped in the seed.
  ['Enable TUN device', 'Write', 'features', 'fuse device', 'enabled/disabled', { key: 'tunDevice', target: 'features', field: 'tun device', display: 'plain', type: 'boolean:enabled/disabled' }],
  ['Enable FUSE device', 'Write', 'features', 'tun device', 'enabled/disabled', { key: 'fuseDevice', target: 'features', field: 'fuse device', display: 'plain', type: 'boolean:enabled/disabled' }],
  ['Enable default registry', 'Write', 'infrastructure', 'default registry enabled', 'true/false', { key: 'defaultRegistry', target: 'infrastructure', field: 'default registry enabled', display: 'plain', type: 'boolean:true/false' }],
  ['Enable ECR IAM role authentication', 'Write', 'features', 'ecr auth irsa', 'enabled/disabled', { key: 'ecrAuthIrsa', target: 'features', field: 'ecr auth irsa', display: 'plain', type: 'boolean:enabled/disabled' }],
  ['Enable AAD authentication for ACR', 'Write', 'features', 'azure auth aad', 'enabled/disabled', { key: 'azureAuthAad', target: 'features', field: 'azure auth aad', display: 'plain', type: 'boolean:enabled/disabled' }],
  // Incomplete: no field, no diff.
  ['Enable fallback shell support for K8s', 'Write', 'features', '', '', { key: 'fallbackShell', target: 'features', field: 'fallback shell', display: 'plain', type: 'boolean:enabled/disabled' }],
  ['Extension marketplace type', 'Write', '*', 'ext marketplace type', 'public/custom', { key: 'extMarketplaceType', target: '*', field: 'ext marketplace type', display: 'plain', type: 'enum:public/custom' }],
  // Incomplete: no target; a stray true/false in the diff.
  ['Dev URL access permissions', 'Write', '', 'devurl access', 'public/org/authed/true/false', { key: 'devurlAccess', target: 'infrastructure', field: 'devurl access', display: 'plain', type: 'enum:public/org/authed' }],
  ['Enable memory overprovisioning', 'Write', 'infrastructure', 'memory overprovisioning enabled', 'true/false', { key: 'memoryOverprovisioning', target: 'infrastructure', field: 'memory overprovisioning enabled', display: 'plain', type: 'boolean:true/false' }],
  // Git OAuth
  ['Client ID', 'Write', 'oauth configs', 'client id', '0fb2...7a4a', { key: 'oauthClientId', target: 'oauth configs', field: 'client id', display: 'abbreviated', type: 'string' }],
  ['Client Secret', 'Write', 'oauth configs', 'client secret', '******', { key: 'oauthClientSecret', target: 'oauth configs', field: 'client secret', display: 'secret', type: 'string' }],
  ['Description', 'Write', 'oauth configs', 'description', 'example', { key: 'oauthDescription', target: 'oauth configs', field: 'description', display: 'plain', type: 'string' }],
  ['Name', 'Write', 'oauth configs', 'name', 'GitHub', { key: 'oauthName', target: 'oauth configs', field: 'name', display: 'plain', type: 'string' }],
  ['Provider', 'Write', 'oauth configs', 'service type', 'github/gitlab', { key: 'oauthServiceType', target: 'oauth configs', field: 'service type', display: 'plain', type: 'enum:github/gitlab' }],
  ['URL', 'Write', 'oauth configs', 'URL host', 'host.com', { key: 'oauthUrlHost', target: 'oauth configs', field: 'URL host', display: 'plain', type: 'url' }],
  // System banner, appearance
  ['System Banner', 'Write', 'system banner', 'enabled', 'true/false', { key: 'systemBannerEnabled', target: 'system banner', field: 'enabled', display: 'plain', type: 'boolean:true/false' }],
  ['Background color', 'Write', 'system banner', 'color bg', '#9A4967', { key: 'systemBannerColorBg', target: 'system banner', field: 'color bg', display: 'plain', type: 'colour' }],
  ['Footer', 'Write', 'system banner', 'text footer', 'UNCLASSIFIED', { key: 'systemBannerFooter', target: 'system banner', field: 'text footer', display: 'plain', type: 'string' }],
  ['Header', 'Write', 'system banner', 'text header', 'UNCLASSIFIED', { key: 'systemBannerHeader', target: 'system banner', field: 'text header', display: 'plain', type: 'string' }],
  ['Service Banner', 'Write', 'appearance', 'svc banner enabled', 'true/false', { key: 'serviceBannerEnabled', target: 'appearance', field: 'svc banner enabled', display: 'plain', type: 'boolean:true/false' }],
  ['Background color', 'Write', 'appearance', 'svc banner color bg', '#18382D', { key: 'serviceBannerColorBg', target: 'appearance', field: 'svc banner color bg', display: 'plain', type: 'colour' }],
  ['Message', 'Write', 'appearance', 'svc banner body', 'Maintenance 9:01PM', { key: 'serviceBannerBody', target: 'appearance', field: 'svc banner body', display: 'plain', type: 'string' }],
  // Inconsistent: the terms-of-service labels are swapped against their fields.
  ['Terms of Service', 'Write', 'appearance', 'tos body', 'Accept Terms & Conditions', { key: 'tosEnabled', target: 'appearance', field: 'tos enabled', display: 'plain', type: 'boolean:true/false' }],
  ['Text field', 'Write', 'appearance', 'tos enabled', 'true/false', { key: 'tosBody', target: 'appearance', field: 'tos body', display: 'plain', type: 'string' }],
  // Telemetry; inconsistent: usage and enhanced usage fields swapped in the seed.
  ['Send crash reports', 'Write', 'telemetry', 'crash reports enabled', 'true/false', { key: 'crashReports', target: 'telemetry', field: 'crash reports enabled', display: 'plain', type: 'boolean:true/false' }],
  ['Send usage telemetry', 'Write', 'telemetry', 'enhanced telemetry enabled', 'true/false', { key: 'usageTelemetry', target: 'telemetry', field: 'telemetry enabled', display: 'plain', type: 'boolean:true/false' }],
  ['Send enhanced usage telemetry', 'Write', 'telemetry', 'telemetry enabled', 'true/false', { key: 'enhancedTelemetry', target: 'telemetry', field: 'enhanced telemetry enabled', display: 'plain', type: 'boolean:true/false' }],
  // Workspace templates and template policy
  ['Enable workspace templates', 'Write', 'infrastructure', 'enable workspaces as code', 'true/false', { key: 'workspacesAsCode', target: 'infrastructure', field: 'enable workspaces as code', display: 'plain', type: 'boolean:true/false' }],
  ['Template policy', 'Write', 'local', 'commit/file hash/filepath/git ref/From', '0000...0000/ed19...843b/local/local/User', { key: 'templatePolicy', target: 'local', field: 'commit/file hash', display: 'fromTo', type: 'string' }],
];

function typeName(def: SettingDefinition): string {
  const t = def.type;
  if (t.kind === 'boolean') return `boolean:${t.shown}`;
  if (t.kind === 'enum') return `enum:${t.values.join('/')}`;
  return t.kind;
}

/** The seed's "Admin logged events" tables, copied verbatim (tab-separated, as the seed has them). */
const SEED_FILE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), 'fixtures/seed-admin-settings.txt');

describe('settings catalog', () => {
  it.each(SEED_ROWS)('seed row "%s" (%s %s %s) is in the catalog', (label, _action, seedTarget, seedField, _diff, expected) => {
    const def: SettingDefinition = SETTINGS[expected.key];
    expect(def, `no setting ${expected.key}`).toBeDefined();
    expect(def.label).toBe(label);
    expect({ target: def.target, field: def.field, display: def.display, type: typeName(def) }).toEqual({
      target: expected.target,
      field: expected.field,
      display: expected.display,
      type: expected.type,
    });
    // A departure from the seed's own columns is written down on the setting.
    if (seedTarget !== def.target || seedField !== def.field) expect(def.note, `${expected.key} departs from the seed without a note`).toBeTruthy();
    // Its default is a valid value of its own type.
    expect(settingsChangesSchema.safeParse({ [expected.key]: def.default }).success).toBe(true);
  });

  it('holds exactly the seed rows: 37 settings, each from one row', () => {
    const mapped = SEED_ROWS.map((row) => row[5].key);
    expect(new Set(mapped).size).toBe(SEED_ROWS.length);
    expect([...SETTING_KEYS].sort()).toEqual([...mapped].sort());
    expect(SETTING_KEYS).toHaveLength(37);
  });

  it("transcribes the seed's tables verbatim", () => {
    const seed = readFileSync(SEED_FILE, 'utf8');
    for (const [label, action, target, field, diff] of SEED_ROWS) {
      expect(seed, `seed row ${label}`).toContain(`${label}${action}${target}${field}${diff}`);
    }
    // Every table row of the seed (a line with "Write" after a label) is transcribed.
    const tableLines = seed.split('\n').filter((line) => /^[A-Z][^\t]*Write/.test(line) && !line.startsWith('Admin Setting'));
    expect(tableLines).toHaveLength(SEED_ROWS.length);
  });

  it('the catalog is sound: every setting classified, defaults valid, fields unique per target', () => {
    expect(catalogProblems(SETTINGS)).toEqual([]);
  });

  it('a setting without a display rule fails the check (and does not compile)', () => {
    // @ts-expect-error -- a definition without `display` is a compile error
    const unclassified: SettingDefinition = { label: 'New thing', target: 'features', field: 'new thing', type: { kind: 'boolean', shown: 'enabled/disabled' }, default: false };
    expect(catalogProblems({ ...SETTINGS, newThing: unclassified })).toEqual([
      'setting newThing: no display rule (one of plain, secret, abbreviated, fromTo)',
    ]);
    const { display: _dropped, ...withoutDisplay } = SETTINGS.oauthClientSecret;
    expect(catalogProblems({ ...SETTINGS, oauthClientSecret: withoutDisplay })).toEqual([
      'setting oauthClientSecret: no display rule (one of plain, secret, abbreviated, fromTo)',
    ]);
    expect(catalogProblems({ ...SETTINGS, gpuVendor: { ...SETTINGS.gpuVendor, display: 'fancy' } })).toEqual([
      'setting gpuVendor: unknown display rule "fancy"',
    ]);
  });

  it('catches the other ways a setting can be misclassified', () => {
    expect(catalogProblems({ x: { ...SETTINGS.containerVms, display: 'secret' } })).toContain('setting x: display secret needs a text value, not boolean');
    expect(catalogProblems({ x: { ...SETTINGS.oauthClientSecret, default: 'hunter2' } })).toEqual(["setting x: a secret's default must be empty"]);
    expect(catalogProblems({ x: { ...SETTINGS.gpuVendor, default: 'intel' } })).toEqual(['setting x: default "intel" is not a valid value']);
    expect(catalogProblems({ x: { ...SETTINGS.gpuVendor, target: 'somewhere' } })).toEqual(['setting x: unknown target "somewhere"']);
    expect(catalogProblems({ x: SETTINGS.gpuVendor, y: SETTINGS.gpuVendor })).toEqual(['setting y: field "gpu vendor" twice in target "infrastructure"']);
    const { type: _t, ...untyped } = SETTINGS.accessUrl;
    expect(catalogProblems({ x: untyped })).toEqual(['setting x: no value type']);
  });
});

describe('display rules, with the seed example values', () => {
  const diff = (key: SettingKey, oldValue: string | boolean, newValue: string | boolean) => settingDiffEntry(SETTINGS[key], oldValue, newValue);

  it('plain: coder.com', () => {
    const entry = diff('accessUrl', '', 'coder.com');
    expect(entry).toEqual({ old: '', new: 'coder.com' });
    expect(describeSettingChange(SETTINGS.accessUrl, entry!)).toBe('coder.com');
  });

  it('plain colour: #9A4967 (normalised to upper-case #RRGGBB)', () => {
    expect(settingsChangesSchema.parse({ systemBannerColorBg: '#9a4967' })).toEqual({ systemBannerColorBg: '#9A4967' });
    expect(settingsChangesSchema.parse({ serviceBannerColorBg: '#abc' })).toEqual({ serviceBannerColorBg: '#AABBCC' });
    const entry = diff('systemBannerColorBg', '#000000', '#9A4967');
    expect(entry).toEqual({ old: '#000000', new: '#9A4967' });
    expect(describeSettingChange(SETTINGS.systemBannerColorBg, entry!)).toBe('#9A4967');
  });

  it('booleans: true/false and enabled/disabled', () => {
    expect(diff('systemBannerEnabled', false, true)).toEqual({ old: false, new: true });
    expect(diff('exectrace', false, true)).toEqual({ old: 'disabled', new: 'enabled' });
    expect(describeSettingChange(SETTINGS.exectrace, diff('exectrace', true, false)!)).toBe('disabled');
  });

  it('enum: amd/nvidia/none', () => {
    expect(diff('gpuVendor', 'none', 'nvidia')).toEqual({ old: 'none', new: 'nvidia' });
  });

  it('abbreviated: 0fb2...7a4a', () => {
    const clientId = '0fb2c1d3e5f7091b7a4a';
    const entry = diff('oauthClientId', '', clientId);
    expect(entry).toEqual({ old: '', new: '0fb2...7a4a' });
    expect(describeSettingChange(SETTINGS.oauthClientId, entry!)).toBe('0fb2...7a4a');
    expect(abbreviate('short')).toBe('short');
  });

  it('secret: ****** and only the flag', () => {
    const entry = diff('oauthClientSecret', '', 'hunter2-very-secret');
    expect(entry).toEqual({ secret: true });
    expect(JSON.stringify(entry)).not.toContain('hunter2');
    expect(describeSettingChange(SETTINGS.oauthClientSecret, entry!)).toBe('******');
    expect(displayValue(SETTINGS.oauthClientSecret, 'hunter2-very-secret')).toBe('******');
  });

  it('from/to: 0000...0000 -> ed19...843b', () => {
    const hash = `ed19${'5'.repeat(56)}843b`;
    const entry = diff('templatePolicy', SETTINGS.templatePolicy.default, hash);
    expect(entry).toEqual({ old: '0000...0000', new: 'ed19...843b' });
    expect(describeSettingChange(SETTINGS.templatePolicy, entry!)).toBe('0000...0000 -> ed19...843b');
  });

  it('an unchanged value has no diff', () => {
    expect(diff('accessUrl', 'coder.com', 'coder.com')).toBeNull();
    expect(diff('oauthClientSecret', 'same', 'same')).toBeNull();
  });
});

describe('validation names the setting', () => {
  const message = (changes: Record<string, unknown>) => {
    const result = settingsChangesSchema.safeParse(changes);
    return result.success ? null : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
  };

  it('refuses bad values with the label and what is expected', () => {
    expect(message({ gpuVendor: 'intel' })).toBe('gpuVendor: GPU Vendor must be one of amd, nvidia, none, got "intel"');
    expect(message({ systemBannerColorBg: 'red' })).toBe('systemBannerColorBg: Background color must be a colour like #9A4967, got "red"');
    expect(message({ exectrace: 'enabled' })).toMatch(/^exectrace: Enable workspace process logging must be true or false/);
    expect(message({ accessUrl: 'not a url' })).toMatch(/^accessUrl: Access URL must be a host or an http\(s\) URL/);
    expect(message({ accessUrl: 'ftp://coder.com' })).toMatch(/^accessUrl: Access URL must be/);
    expect(message({ templatePolicy: 'xyz' })).toMatch(/^templatePolicy: Template policy must be a commit or file hash/);
    expect(message({ nope: 1 })).toMatch(/^: unknown setting "nope"; valid settings: accessUrl, gpuVendor/);
  });

  it('accepts hosts and URLs', () => {
    for (const url of ['coder.com', 'host.com', 'https://coder.example.com:8443/x', 'http://127.0.0.1:7080', '']) {
      expect(message({ accessUrl: url }), url).toBeNull();
    }
  });

  it('never echoes a secret it refuses', () => {
    const secret = `s3cr3t-${'x'.repeat(2000)}`;
    const text = message({ oauthClientSecret: secret });
    expect(text).toBe('oauthClientSecret: Client Secret takes at most 1024 characters');
    expect(message({ oauthClientSecret: 12345 })).toBe('oauthClientSecret: Client Secret must be text');
  });
});
