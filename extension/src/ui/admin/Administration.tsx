// The full view's Administration section, for site managers: users and service tokens,
// through the server's users.* and tokens.* procedures (which refuse anyone else, and
// record every change as an audit event).
import { browser } from '../../platform.js';
import { settingsClient } from '../../api.js';
import type { Settings } from '../../settings.js';
import type { StateFix } from '../../states.js';
import { ADMIN_TEXT } from '../../wording.js';
import { useNow } from '../hooks.js';
import { StateNotice } from '../StateNotice.js';
import { useAdminList } from './adminCalls.js';
import { TokensAdmin } from './TokensAdmin.js';
import { UsersAdmin } from './UsersAdmin.js';
import './admin.css';

export function Administration({ settings }: { settings: Settings }) {
  const client = settingsClient(settings);
  const users = useAdminList(settings, () => client.users.list.query());
  const tokens = useAdminList(settings, () => client.tokens.list.query());
  const now = useNow();
  const problem = users.problem ?? tokens.problem;
  const onFix = (fix: StateFix) => {
    if (fix === 'options') void browser.runtime.openOptionsPage();
    else {
      users.reload();
      tokens.reload();
    }
  };
  if (problem) return <StateNotice state={problem} onFix={onFix} />;
  if (!users.items || !tokens.items) return <p class="admin-loading" role="status">{ADMIN_TEXT.loading}</p>;
  return (
    <div class="admin" data-section="admin">
      <UsersAdmin client={client} users={users.items} onChanged={users.reload} />
      <TokensAdmin client={client} tokens={tokens.items} now={now} onChanged={tokens.reload} />
    </div>
  );
}
