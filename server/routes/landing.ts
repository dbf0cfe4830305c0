// GET /: what a newcomer sees at the server's address. No login and no event data: what
// this server is, whether it is healthy, the extension downloads, and how to install them
// by hand or by policy with this server's address and the extension id filled in.
import type { RequestHandler } from 'express';
import type { ExtensionPackages } from '../services/extensionPackages.js';
import { EXTENSION_PATHS, publicBaseUrl } from './extension.js';

export interface LandingDeps {
  version: string;
  packages: ExtensionPackages | null;
  publicUrl: string | undefined;
  /** Resolves to true when the database answers (bounded in time by the caller). */
  healthy(): Promise<boolean>;
}

function html(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Chrome/Chromium/Edge policy: force-install from this server, with its address managed. */
export function chromePolicy(extensionId: string, base: string): Record<string, unknown> {
  return {
    ExtensionInstallForcelist: [`${extensionId};${base}${EXTENSION_PATHS.updates}`],
    '3rdparty': { extensions: { [extensionId]: { serverUrl: base, lockServerUrl: true } } },
  };
}

/** Firefox policies.json: force-install, with its address managed. */
export function firefoxPolicy(addonId: string, base: string): Record<string, unknown> {
  return {
    policies: {
      ExtensionSettings: { [addonId]: { installation_mode: 'force_installed', install_url: `${base}${EXTENSION_PATHS.firefoxZip}` } },
      '3rdparty': { Extensions: { [addonId]: { serverUrl: base, lockServerUrl: true } } },
    },
  };
}

const STYLE = `body{font:15px/1.5 system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#1d2330}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:1.8rem}code,pre{font:13px ui-monospace,monospace}
pre{background:#f3f4f7;padding:.8rem;overflow-x:auto;border-radius:6px}.ok{color:#186a3b}.bad{color:#a4262c}
@media (prefers-color-scheme:dark){body{background:#16181d;color:#e6e8ee}pre{background:#23262e}a{color:#8ab4f8}.ok{color:#7bd88f}.bad{color:#ff8a8a}}`;

export function landingPage(deps: LandingDeps): RequestHandler {
  return async (req, res) => {
    const base = publicBaseUrl(req, deps.publicUrl);
    const healthy = await deps.healthy();
    const p = deps.packages;
    const downloads = p
      ? `<ul>
<li><a href="${EXTENSION_PATHS.chromeZip}">vigil-chrome.zip</a> — Chrome, Chromium, Edge (unpacked)</li>
<li><a href="${EXTENSION_PATHS.crx}">vigil.crx</a> — signed package for policy installs (extension id <code>${html(p.extensionId)}</code>)</li>
<li><a href="${EXTENSION_PATHS.firefoxZip}">vigil-firefox.zip</a> — Firefox (add-on id <code>${html(p.firefoxId)}</code>)</li>
<li><a href="${EXTENSION_PATHS.updates}">updates.xml</a> — Chrome's update manifest for this server</li>
</ul>`
      : `<p class="bad">This server was started without an extension build: run <code>npm run build</code> and restart it.</p>`;
    const policies = p
      ? `<h2>Install for your whole organization</h2>
<p>Chrome and Chromium on Linux: save as <code>/etc/opt/chrome/policies/managed/vigil.json</code> or
<code>/etc/chromium/policies/managed/vigil.json</code> (Windows: Group Policy or the registry; macOS: a configuration profile — see the README).</p>
<pre>${html(JSON.stringify(chromePolicy(p.extensionId, base), null, 2))}</pre>
<p>Firefox: <code>policies.json</code> (release Firefox installs only add-ons signed by Mozilla; ESR can be set to accept unsigned ones — see the README).</p>
<pre>${html(JSON.stringify(firefoxPolicy(p.firefoxId, base), null, 2))}</pre>`
      : '';
    res.type('html').send(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Vigil audit trail server</title><style>${STYLE}</style></head>
<body>
<h1>Vigil</h1>
<p>This is a Vigil audit trail server (version ${html(deps.version)}). Auditors read the trail with the Vigil browser extension;
internal apps record events through its typed API. Nothing here is readable without logging in.</p>
<p>Status: ${healthy ? '<strong class="ok">healthy</strong>' : '<strong class="bad">degraded — the database does not answer</strong>'}</p>
<h2>Server address</h2>
<p>Paste this into the extension's options page, then log in:</p>
<pre>${html(base)}</pre>
<h2>Download the extension</h2>
${downloads}
<h2>Install by hand</h2>
<ol>
<li>Chrome, Chromium, Edge: unzip <code>vigil-chrome.zip</code>, open <code>chrome://extensions</code>, turn on Developer mode, choose “Load unpacked” and pick the folder.</li>
<li>Firefox: open <code>about:debugging#/runtime/this-firefox</code> and choose “Load Temporary Add-on…” with <code>vigil-firefox.zip</code> (until the next restart), or install it by policy.</li>
<li>Open the extension's options, paste the address above, allow access to this server when asked, and log in.</li>
</ol>
${policies}
</body></html>
`);
  };
}
