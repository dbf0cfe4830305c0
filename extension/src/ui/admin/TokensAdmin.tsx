// Service tokens: create (the secret shown once, with a copy button), list, revoke
// (tokens.* procedures).
import { useState } from 'preact/hooks';
import type { VigilClient } from '../../../../shared/callClient.js';
import type { TokenScope } from '../../../../shared/identity.js';
import { absoluteTime } from '../../present.js';
import { ADMIN_TEXT } from '../../wording.js';
import { failureOf, type AdminToken, type Outcome } from './adminCalls.js';
import { AdminTable } from './AdminTable.js';
import { OnceSecret, OutcomeLine } from './OnceSecret.js';

const when = (iso: string | null) => (iso ? absoluteTime(iso) : ADMIN_TEXT.never);

export function TokensAdmin(props: { client: VigilClient; tokens: AdminToken[]; now: number; onChanged(): void }) {
  const { client, tokens, now } = props;
  const [outcome, setOutcome] = useState<Outcome>(null);
  const [secret, setSecret] = useState<{ name: string; token: string } | null>(null);
  const [confirming, setConfirming] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const change = async (work: () => Promise<Outcome>) => {
    setBusy(true);
    try {
      setOutcome(await work());
    } catch (error) {
      setOutcome(failureOf(error));
    } finally {
      setBusy(false);
      setConfirming(null);
      props.onChanged();
    }
  };

  const create = (form: HTMLFormElement) => {
    const data = new FormData(form);
    const scopes: TokenScope[] = data.get('read') ? ['events:write', 'events:read'] : ['events:write'];
    const days = String(data.get('days') ?? '').trim();
    setSecret(null);
    return change(async () => {
      const created = await client.tokens.create.mutate({
        name: String(data.get('name') ?? ''),
        scopes,
        ...(days ? { expiresInDays: Number(days) } : {}),
      });
      form.reset();
      setSecret({ name: created.name, token: created.token });
      return null;
    });
  };

  return (
    <AdminTable id="admin-tokens" heading={ADMIN_TEXT.tokensHeading} kind="tokens" columns={ADMIN_TEXT.columns.tokens}
      after={
        <>
          <OutcomeLine outcome={outcome} />
          {secret && <OnceSecret label={ADMIN_TEXT.tokenOnce(secret.name)} secret={secret.token} onDone={() => setSecret(null)} />}
          <form
            class="admin-form"
            data-form="create-token"
            onSubmit={(e) => {
              e.preventDefault();
              void create(e.currentTarget);
            }}
          >
            <label>
              {ADMIN_TEXT.tokenName}
              <input name="name" required maxLength={128} autocomplete="off" />
            </label>
            <label class="check">
              <input name="read" type="checkbox" />
              {ADMIN_TEXT.readScope}
            </label>
            <label>
              {ADMIN_TEXT.expiresDays}
              <input name="days" type="number" min={1} max={3650} step={1} />
            </label>
            <button type="submit" class="button primary" disabled={busy}>
              {ADMIN_TEXT.createToken}
            </button>
          </form>
        </>
      }
    >
      {tokens.map((t) => {
        const status = ADMIN_TEXT.tokenStatus(t.revokedAt, t.expiresAt, now);
        return (
          <tr key={t.id} data-token={t.id} class={status === 'active' ? undefined : 'is-disabled'}>
            <td>{t.name}</td>
            <td>{t.scopes.join(', ')}</td>
            <td>{when(t.createdAt)}</td>
            <td>{when(t.expiresAt)}</td>
            <td>{when(t.lastUsedAt)}</td>
            <td data-field="status">{status}</td>
            <td>
              <div class="admin-actions">
              {status === 'active' &&
                (confirming === t.id ? (
                  <span class="confirm">
                    {ADMIN_TEXT.confirmRevoke(t.name)}{' '}
                    <button
                      type="button"
                      class="button danger"
                      data-action="confirm-revoke"
                      disabled={busy}
                      onClick={() =>
                        change(async () => {
                          const revoked = await client.tokens.revoke.mutate({ id: t.id });
                          return { ok: true, text: ADMIN_TEXT.revoked(revoked.name) };
                        })
                      }
                        >
                      {ADMIN_TEXT.confirm}
                    </button>{' '}
                    <button type="button" class="button subtle" onClick={() => setConfirming(null)}>
                      {ADMIN_TEXT.cancel}
                    </button>
                  </span>
                ) : (
                  <button type="button" class="button" data-action="revoke" disabled={busy} onClick={() => setConfirming(t.id)}>
                    {ADMIN_TEXT.revoke}
                  </button>
                ))}
              </div>
            </td>
          </tr>
        );
      })}
    </AdminTable>
  );
}
