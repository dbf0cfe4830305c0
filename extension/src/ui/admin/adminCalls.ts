// What the Administration section shares: who may see it, the shapes the server answers,
// a loaded list and its state, and what a refused or failed change says.
import { useEffect, useState } from 'preact/hooks';
import type { VigilClient } from '../../../../shared/callClient.js';
import { hasHostAccess } from '../../api.js';
import { errorCode, stateFromError } from '../../connectionState.js';
import type { Settings } from '../../settings.js';
import type { ViewState } from '../../states.js';
import { ADMIN_TEXT } from '../../wording.js';

export type AdminUser = Awaited<ReturnType<VigilClient['users']['list']['query']>>[number];
export type AdminToken = Awaited<ReturnType<VigilClient['tokens']['list']['query']>>[number];

/** Site managers administer (the server refuses anyone else anyway). */
export function mayAdminister(settings: Settings): boolean {
  return Boolean(settings.token) && settings.session?.kind === 'user' && settings.session.user.role === 'site_manager';
}

/** A line under a form: what was done, or why not. */
export type Outcome = { ok: boolean; text: string } | null;

/** What a failed change says: the server's own words when it answered, else that it did not. */
export function failureOf(error: unknown): Outcome {
  return { ok: false, text: errorCode(error) ? ADMIN_TEXT.refused(error instanceof Error ? error.message : String(error)) : ADMIN_TEXT.unreachable };
}

/** A list the server answers, reloaded on demand; a failure is one of the named states. */
export function useAdminList<T>(settings: Settings, load: () => Promise<T[]>) {
  const [items, setItems] = useState<T[] | null>(null);
  const [problem, setProblem] = useState<ViewState | null>(null);
  const [version, setVersion] = useState(0);
  useEffect(() => {
    let current = true;
    load().then(
      (loaded) => {
        if (!current) return;
        setItems(loaded);
        setProblem(null);
      },
      async (error: unknown) => {
        const state = await stateFromError(error, settings, () => hasHostAccess(settings.serverUrl!));
        if (current) setProblem(state);
      },
    );
    return () => {
      current = false;
    };
  }, [settings.serverUrl, settings.token, version]);
  return { items, problem, reload: () => setVersion((v) => v + 1) };
}

/** A password for a new user or a reset: 96 random bits, as the CLI makes them. */
export function generatedPassword(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
