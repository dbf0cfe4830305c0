// Which events raise a desktop notification: actions, resource types, an extra query;
// and a test notification.
import { useState } from 'preact/hooks';
import { ACTION_DESCRIPTIONS, RESOURCE_TYPES, type AuditAction, type ResourceType } from '../../../shared/vocabulary.js';
import { showTestNotification } from '../notify.js';
import { ACTION_GROUPS, GROUP_LABELS, resourceTypeName, type ActionGroup } from '../present.js';
import { composeRules, DEFAULT_RULES, normalizeRules, type NotificationRules } from '../rules.js';
import { saveSettings } from '../settings.js';
import { RULE_TEXT } from '../wording.js';
import { Note, type NoteValue } from './Note.js';
import type { SectionProps } from './sections.js';

function toggled<T>(list: readonly T[], value: T): T[] {
  return list.includes(value) ? list.filter((v) => v !== value) : [...list, value];
}

/** Which events raise a desktop notification: actions, resource types, an extra query. */
export function NotificationsSection({ initial, settings }: SectionProps) {
  const locked = Boolean(settings.managed?.lockNotificationRules);
  const [rules, setRules] = useState<NotificationRules>(() => normalizeRules(initial.notifyRules));
  const [note, setNote] = useState<NoteValue>(null);
  const check = composeRules(rules);
  const edit = (patch: Partial<NotificationRules>) => {
    setRules({ ...rules, ...patch });
    setNote(null);
  };

  const save = async (e: Event) => {
    e.preventDefault();
    if (!check.ok) {
      setNote({ tone: 'error', text: check.message });
      return;
    }
    await saveSettings({ notifyRules: { ...rules, query: rules.query.trim() } });
    setNote({ tone: 'ok', text: check.q === null ? RULE_TEXT.savedOff : RULE_TEXT.saved });
  };

  const sendTest = async () => {
    try {
      await showTestNotification(check.ok ? check.q : null);
      setNote({ tone: 'ok', text: RULE_TEXT.testSent });
    } catch (error) {
      setNote({ tone: 'error', text: RULE_TEXT.testFailed(error instanceof Error ? error.message : String(error)) });
    }
  };

  return (
    <section aria-labelledby="notify-h">
      <h2 id="notify-h">Notifications</h2>
      <p class="hint">
        A desktop notification for each new event matching these rules (more than 5 at once make one summary). The toolbar badge
        counts them until you open the popup.
      </p>
      {locked && (
        <p class="hint" data-managed="locked">
          Set by your organization.
        </p>
      )}
      <form onSubmit={save} class="rules" aria-label="Notification rules">
        <fieldset disabled={locked}>
          <legend>Actions</legend>
          {(Object.keys(ACTION_GROUPS) as ActionGroup[]).map((group) => (
            <div class="check-row" key={group}>
              <span class="check-group">{GROUP_LABELS[group]}</span>
              {ACTION_GROUPS[group].map((action: AuditAction) => (
                <label class="check" key={action} title={ACTION_DESCRIPTIONS[action]}>
                  <input
                    type="checkbox"
                    data-notify-action={action}
                    checked={rules.actions.includes(action)}
                    onChange={() => edit({ actions: toggled(rules.actions, action) })}
                  />
                  {action.replace(/_/g, ' ')}
                </label>
              ))}
            </div>
          ))}
        </fieldset>
        <fieldset disabled={locked}>
          <legend>Resource types (none ticked: any)</legend>
          <div class="check-row">
            {RESOURCE_TYPES.map((type: ResourceType) => (
              <label class="check" key={type}>
                <input
                  type="checkbox"
                  data-notify-type={type}
                  checked={rules.resourceTypes.includes(type)}
                  onChange={() => edit({ resourceTypes: toggled(rules.resourceTypes, type) })}
                />
                {resourceTypeName(type)}
              </label>
            ))}
          </div>
        </fieldset>
        <label class="check">
          <input type="checkbox" data-notify-refusals checked={rules.refusals !== false} disabled={locked} onChange={() => edit({ refusals: rules.refusals === false })} />
          {RULE_TEXT.refusals}
        </label>
        <label for="notify-query">Only events also matching (optional)</label>
        <input
          id="notify-query"
          placeholder="e.g. -username:deploy-bot"
          spellcheck={false}
          autocomplete="off"
          value={rules.query}
          readOnly={locked}
          aria-invalid={check.ok ? 'false' : 'true'}
          aria-describedby="notify-query-error"
          onInput={(e) => edit({ query: e.currentTarget.value })}
        />
        {!check.ok && (
          <p class="note error" id="notify-query-error" role="alert" data-rules-error>
            {check.message}
          </p>
        )}
        {check.ok && check.q === null && <p class="note error" data-rules-off>{RULE_TEXT.off}</p>}
        <p class="hint">
          The server is asked for: <code data-rules-query>{check.ok && check.q !== null ? check.q : '—'}</code>
        </p>
        <div class="row">
          <button class="button primary" type="submit" id="notify-save" disabled={locked}>
            Save rules
          </button>
          <button class="button" type="button" id="notify-test" onClick={sendTest}>
            Send test notification
          </button>
          <button class="button subtle" type="button" disabled={locked} onClick={() => edit({ ...DEFAULT_RULES, actions: [...DEFAULT_RULES.actions] })}>
            Defaults
          </button>
        </div>
        {note && <Note note={note} id="notify-note" />}
      </form>
    </section>
  );
}
