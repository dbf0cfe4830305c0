// Which state a connection is in: what is missing before asking the server anything,
// and what a failed call means to the user (the states themselves: states.ts).
import type { Settings } from './settings.js';
import type { StateDetail, ViewState } from './states.js';

/** The state before asking the server anything: missing setup or credentials. */
export function preconditionState(settings: Settings): ViewState | null {
  if (!settings.serverUrl) return { id: 'notConfigured', detail: {} };
  const detail = detailOf(settings);
  if (!settings.token) return { id: 'loggedOut', detail };
  if (typeof navigator !== 'undefined' && navigator.onLine === false) return { id: 'offline', detail };
  return null;
}

export function detailOf(settings: Settings): StateDetail {
  const detail: StateDetail = {};
  if (settings.serverUrl) detail.server = settings.serverUrl;
  if (settings.session?.kind === 'user') {
    detail.username = settings.session.user.username;
    detail.role = settings.session.user.role;
  } else if (settings.session?.kind === 'service') {
    detail.service = settings.session.name ?? '';
  }
  return detail;
}

/** The tRPC error code of a failed call, if the server answered at all. */
export function errorCode(error: unknown): string | undefined {
  const data = (error as { data?: { code?: unknown } } | null)?.data;
  return typeof data?.code === 'string' ? data.code : undefined;
}

/**
 * What a failed call means to the user. `hasAccess` is asked only for network failures:
 * without the host permission the browser blocks the request before it leaves.
 */
export async function stateFromError(
  error: unknown,
  settings: Settings,
  hasAccess: () => Promise<boolean>,
): Promise<ViewState> {
  const detail = detailOf(settings);
  const code = errorCode(error);
  const message = error instanceof Error ? error.message : String(error);
  switch (code) {
    case 'UNAUTHORIZED':
      return { id: 'badToken', detail };
    case 'FORBIDDEN':
      return { id: 'forbidden', detail };
    case 'BAD_REQUEST':
      return { id: 'queryError', detail: { ...detail, message: message.replace(/^q: /, '') } };
    case undefined:
      break;
    default:
      return { id: 'unreachable', detail: { ...detail, message: `${code}: ${message}` } };
  }
  if (typeof navigator !== 'undefined' && navigator.onLine === false) return { id: 'offline', detail };
  if (!(await hasAccess().catch(() => true))) return { id: 'noAccess', detail };
  return { id: 'unreachable', detail };
}
