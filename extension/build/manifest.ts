// The two manifests, from one description. Chrome runs the background as a module
// service worker; Firefox has no service workers for extensions and takes
// background.scripts plus its browser_specific_settings.
import { MANAGED_SCHEMA_FILE } from './managedSchema.js';

export type BrowserTarget = 'chrome' | 'firefox';

export interface ManifestOptions {
  version: string;
  /**
   * Test builds grant http://127.0.0.1/* up front: permissions.request never resolves in
   * headless Chromium, so a real-browser test cannot click through the prompt.
   */
  grantLoopback?: boolean;
  /** The manifest `key` (base64 DER public key): fixes an unpacked build's extension id (test builds). */
  key?: string;
}

export const ICON_SIZES = [16, 32, 48, 128] as const;

export function createManifest(target: BrowserTarget, options: ManifestOptions): Record<string, unknown> {
  const icons = Object.fromEntries(ICON_SIZES.map((size) => [String(size), `icons/vigil-${size}.png`]));
  return {
    manifest_version: 3,
    name: 'Vigil',
    short_name: 'Vigil',
    version: options.version,
    description: "An auditor's view of the Vigil audit trail: newest events, filters, search, a full view and alerts on sensitive actions.",
    icons,
    action: { default_title: 'Vigil audit trail', default_popup: 'popup.html', default_icon: icons },
    options_ui: { page: 'options.html', open_in_tab: true },
    background:
      target === 'chrome'
        ? { service_worker: 'background.js', type: 'module' }
        : { scripts: ['background.js'], type: 'module' },
    // storage: settings, token, notification rules and the notifier's cursor
    // (storage.local); alarms: the periodic poll from that cursor, which wakes the
    // background so no event is missed while it slept; notifications: a desktop
    // notification for each new event matching the user's rules. Nothing else.
    permissions: ['storage', 'alarms', 'notifications'],
    // The server's origin is granted at run time from the options page, for exactly the
    // configured server (permissions.request).
    optional_host_permissions: ['http://*/*', 'https://*/*'],
    ...(options.grantLoopback ? { host_permissions: ['http://127.0.0.1/*'] } : {}),
    ...(options.key && target === 'chrome' ? { key: options.key } : {}),
    ...(target === 'chrome'
      ? {
          minimum_chrome_version: '116',
          // Policies hand the extension its server address (storage.managed).
          storage: { managed_schema: MANAGED_SCHEMA_FILE },
        }
      : {
          // Firefox's default extension-page policy upgrades ws:// to wss://, so the live
          // socket to an http:// server never connected; this is the default without that.
          content_security_policy: { extension_pages: "script-src 'self'; object-src 'self'" },
          browser_specific_settings: {
            gecko: {
              id: 'vigil@vigil.example',
              // 140 (an ESR) is the first to read data_collection_permissions.
              strict_min_version: '140.0',
              data_collection_permissions: { required: ['none'] },
            },
            gecko_android: { strict_min_version: '142.0' },
          },
        }),
  };
}
