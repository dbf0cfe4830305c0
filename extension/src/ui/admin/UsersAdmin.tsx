// Users: create, change role, disable or enable, reset the password (users.* procedures).
import { useState } from 'preact/hooks';
import type { VigilClient } from '../../../../shared/callClient.js';
import { ROLES, type Role } from '../../../../shared/identity.js';
import { roleName } from '../../states.js';
import { ADMIN_TEXT } from '../../wording.js';
import { failureOf, generatedPassword, type AdminUser, type Outcome } from './adminCalls.js';
import { AdminTable } from './AdminTable.js';
import { OnceSecret, OutcomeLine } from './OnceSecret.js';

/** A new user's role choices, the least privileged first: the default, also after the form is reset. */
const NEW_USER_ROLES: Role[] = ['member', 'auditor', 'site_manager'];

export function UsersAdmin(props: { client: VigilClient; users: AdminUser[]; onChanged(): void }) {
  const { client, users } = props;
  const [outcome, setOutcome] = useState<Outcome>(null);
  const [secret, setSecret] = useState<{ label: string; value: string } | null>(null);
  const [busy, setBusy] = useState(false);

  /** One change at a time; the list is read again after it, whatever happened. */
  const change = async (work: () => Promise<Outcome>) => {
    setBusy(true);
    setSecret(null);
    try {
      setOutcome(await work());
    } catch (error) {
      setOutcome(failureOf(error));
    } finally {
      setBusy(false);
      props.onChanged();
    }
  };

  const create = (form: HTMLFormElement) => {
    const data = new FormData(form);
    const typed = String(data.get('password') ?? '');
    const password = typed || generatedPassword();
    const username = String(data.get('username') ?? '').trim();
    const email = String(data.get('email') ?? '').trim();
    return change(async () => {
      const user = await client.users.create.mutate({ username, role: data.get('role') as Role, password, ...(email ? { email } : {}) });
      form.reset();
      if (!typed) setSecret({ label: ADMIN_TEXT.newUserPasswordOnce(user.username), value: password });
      return { ok: true, text: ADMIN_TEXT.userCreated(user.username) };
    });
  };

  const resetPassword = (user: AdminUser) =>
    change(async () => {
      const password = generatedPassword();
      await client.users.setPassword.mutate({ id: user.id, password });
      setSecret({ label: ADMIN_TEXT.passwordOnce(user.username), value: password });
      return null;
    });

  return (
    <AdminTable id="admin-users" heading={ADMIN_TEXT.usersHeading} kind="users" columns={ADMIN_TEXT.columns.users}
      after={
        <>
          <OutcomeLine outcome={outcome} />
          {secret && <OnceSecret label={secret.label} secret={secret.value} onDone={() => setSecret(null)} />}
          <form
            class="admin-form"
            data-form="create-user"
            onSubmit={(e) => {
              e.preventDefault();
              void create(e.currentTarget);
            }}
          >
            <label>
              {ADMIN_TEXT.username}
              <input name="username" required autocomplete="off" />
            </label>
            <label>
              {ADMIN_TEXT.email}
              <input name="email" type="email" autocomplete="off" />
            </label>
            <label>
              {ADMIN_TEXT.role}
              <select name="role">
                {NEW_USER_ROLES.map((r) => (
                  <option key={r} value={r}>{roleName(r)}</option>
                ))}
              </select>
            </label>
            <label>
              {ADMIN_TEXT.password}
              <input name="password" type="password" autocomplete="new-password" />
            </label>
            <button type="submit" class="button primary" disabled={busy}>
              {ADMIN_TEXT.createUser}
            </button>
          </form>
        </>
      }
    >
      {users.map((u) => (
        <tr key={u.id} data-user={u.username} class={u.disabled ? 'is-disabled' : undefined}>
          <td>{u.username}</td>
          <td>{u.email ?? ''}</td>
          <td>
            <select
              aria-label={`${ADMIN_TEXT.role}: ${u.username}`}
              data-field="role"
              value={u.role}
              disabled={busy}
              onChange={(e) => {
                const role = (e.currentTarget as HTMLSelectElement).value as Role;
                void change(async () => {
                  const changed = await client.users.setRole.mutate({ id: u.id, role });
                  return { ok: true, text: ADMIN_TEXT.roleChanged(changed.username, roleName(changed.role)) };
                });
              }}
            >
              {ROLES.map((r) => (
                <option key={r} value={r}>{roleName(r)}</option>
              ))}
            </select>
          </td>
          <td data-field="status">{u.disabled ? ADMIN_TEXT.disabled : ADMIN_TEXT.active}</td>
          <td>
            <div class="admin-actions">
              <button
                type="button"
                class="button"
                data-action={u.disabled ? 'enable' : 'disable'}
                disabled={busy}
                onClick={() =>
                  change(async () => {
                    const changed = await client.users.setDisabled.mutate({ id: u.id, disabled: !u.disabled });
                    return { ok: true, text: ADMIN_TEXT.disabledDone(changed.username, changed.disabled) };
                  })
                }
                  >
                {u.disabled ? ADMIN_TEXT.enable : ADMIN_TEXT.disable}
              </button>
              <button type="button" class="button" data-action="reset-password" disabled={busy} onClick={() => resetPassword(u)}>
                {ADMIN_TEXT.resetPassword}
              </button>
            </div>
          </td>
        </tr>
      ))}
    </AdminTable>
  );
}
