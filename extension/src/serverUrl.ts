// The server's address as a person types it, and the host permission that covers it.
// Pure: no browser APIs, so unit tests import it directly.

export type ServerUrlCheck = { ok: true; url: string; origin: string } | { ok: false; message: string };

/** Accepts what a person types (`vigil.example.com:8080`, `http://127.0.0.1:8080/`). */
export function normalizeServerUrl(input: string): ServerUrlCheck {
  const text = input.trim();
  if (!text) return { ok: false, message: 'Enter the address of your Vigil server, e.g. https://vigil.example.com' };
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `https://${text}`);
  } catch {
    return { ok: false, message: `"${text}" is not a web address` };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { ok: false, message: 'The address must start with http:// or https://' };
  }
  if (url.username || url.password) return { ok: false, message: 'Leave the user name and password out of the address' };
  if (url.search || url.hash) return { ok: false, message: 'Leave ?query and #fragment out of the address' };
  const pathPart = url.pathname.replace(/\/+$/, '');
  return { ok: true, url: `${url.origin}${pathPart}`, origin: url.origin };
}

/**
 * The host permission for exactly the configured server. Chrome's match patterns may
 * name a port; Firefox's may not, so there the pattern covers the host on any port.
 */
export function hostPattern(serverUrl: string, firefox: boolean): string {
  const url = new URL(serverUrl);
  return `${url.protocol}//${firefox ? url.hostname : url.host}/*`;
}

/** Whether a granted pattern (e.g. http://127.0.0.1/* or <all_urls>) covers the wanted one. */
export function patternCovers(granted: string, wanted: string): boolean {
  if (granted === '<all_urls>' || granted === wanted) return true;
  const g = /^(\*|https?):\/\/([^/]+)\/(.*)$/.exec(granted);
  const w = /^(https?):\/\/([^/]+)\/\*$/.exec(wanted);
  if (!g || !w) return false;
  const [, gScheme, gHostPort, gPath] = g;
  const [, wScheme, wHostPort] = w;
  if (gScheme !== '*' && gScheme !== wScheme) return false;
  if (gPath !== '*') return false;
  const [gHost, gPort] = splitHostPort(gHostPort!);
  const [wHost] = splitHostPort(wHostPort!);
  const wPort = splitHostPort(wHostPort!)[1];
  const hostOk = gHost === '*' || gHost === wHost || (gHost.startsWith('*.') && wHost.endsWith(gHost.slice(1)));
  const portOk = gPort === null || gPort === '*' || gPort === wPort;
  return hostOk && portOk;
}

function splitHostPort(hostPort: string): [string, string | null] {
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+|\*))?$/.exec(hostPort);
  return m ? [m[1]!, m[2] ?? null] : [hostPort, null];
}
