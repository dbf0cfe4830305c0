// Quick filters: action chips in three groups, resource type, user, target and time
// range. They read and write terms of the query text, so the search box always shows
// exactly what is being asked.
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { ACTION_DESCRIPTIONS, RESOURCE_TYPES, type AuditAction } from '../../../shared/vocabulary.js';
import { TIME_RANGES } from '../completion.js';
import { ACTION_GROUPS, GROUP_LABELS, type ActionGroup } from '../present.js';
import { applyValueList, formatValueList, setTerm, termValues } from '../queryTerms.js';
import { useRovingFocus } from './roving.js';

export interface FilterBarProps {
  query: string;
  onQuery(query: string): void;
  usernames: readonly string[];
  targets: readonly string[];
  /** Prefix for element ids (two bars never share a page, but ids stay unique). */
  idPrefix?: string;
  /** The type, user and target fields behind a "More filters" disclosure (the narrow popup). */
  collapsible?: boolean;
  /** The query is not valid: no chip shows as on, since none of them is what is shown. */
  invalid?: boolean;
}

function TextFilter(props: {
  id: string;
  label: string;
  placeholder: string;
  value: string;
  options: readonly string[];
  onCommit(value: string): void;
}) {
  const [edit, setEdit] = useState<{ base: string; text: string } | null>(null);
  const draft = edit && edit.base === props.value ? edit.text : props.value;
  const setDraft = (text: string) => setEdit({ base: props.value, text });
  const commit = () => {
    if (draft.trim() !== props.value) props.onCommit(draft.trim());
  };
  return (
    <label class="text-filter">
      <span class="sr-only">{props.label}</span>
      <input
        id={props.id}
        type="search"
        placeholder={props.placeholder}
        value={draft}
        list={`${props.id}-list`}
        autocomplete="off"
        spellcheck={false}
        onInput={(e) => setDraft(e.currentTarget.value)}
        onChange={commit}
        onKeyDown={(e) => {
          if (e.key === 'Enter') commit();
        }}
      />
      <datalist id={`${props.id}-list`}>
        {props.options.map((o) => (
          <option key={o} value={o} />
        ))}
      </datalist>
    </label>
  );
}

/** The type, user and target fields: open by default only when one of them is set. */
function MoreFilters({ collapsible, active, children }: { collapsible: boolean; active: boolean; children: ComponentChildren }) {
  const [open, setOpen] = useState(active);
  if (!collapsible) return <div class="chip-row controls">{children}</div>;
  return (
    <details class="more-filters" open={open || active} onToggle={(e) => setOpen((e.currentTarget as HTMLDetailsElement).open)} data-more-filters>
      <summary>More filters</summary>
      <div class="chip-row controls">{children}</div>
    </details>
  );
}

export function FilterBar({ query, onQuery, usernames, targets, idPrefix = 'f', collapsible = false, invalid = false }: FilterBarProps) {
  const chips = useRovingFocus<HTMLDivElement>('.chip', { rows: '[role=group]' });
  const on = (values: string[]) => (invalid ? [] : values);
  const actions = on(termValues(query, 'action'));
  const selected = new Set(actions);
  const types = on(termValues(query, 'resource_type'));
  const since = on(termValues(query, 'since'));
  const users = termValues(query, 'username');
  const targetValues = termValues(query, 'resource_target');

  const setActions = (next: string[]) => onQuery(setTerm(query, 'action', next));
  const toggleAction = (action: AuditAction) =>
    setActions(selected.has(action) ? actions.filter((a) => a !== action) : [...actions, action]);
  const toggleGroup = (group: ActionGroup) => {
    const members = ACTION_GROUPS[group];
    const all = members.every((a) => selected.has(a));
    setActions(all ? actions.filter((a) => !members.includes(a as AuditAction)) : [...actions, ...members.filter((a) => !selected.has(a))]);
  };
  const typeValue = types.length === 1 ? types[0]! : types.length > 1 ? '*several' : '';

  return (
    <div class="filters">
      <div class="chip-groups" role="toolbar" aria-label="Quick filters" ref={chips.ref} onKeyDown={chips.onKeyDown} onFocusCapture={chips.onFocusIn}>
        {(Object.keys(ACTION_GROUPS) as ActionGroup[]).map((group) => {
          const members = ACTION_GROUPS[group];
          const allOn = members.every((a) => selected.has(a));
          return (
            <div class={`chip-row group-${group}`} role="group" aria-label={`${GROUP_LABELS[group]} actions`} key={group}>
              <button
                type="button"
                class="chip group-chip"
                aria-pressed={allOn}
                data-chip={`group:${group}`}
                title={`All ${GROUP_LABELS[group].toLowerCase()} actions: ${members.join(', ')}`}
                onClick={() => toggleGroup(group)}
              >
                {GROUP_LABELS[group]}
              </button>
              {members.map((action) => (
                <button
                  type="button"
                  class="chip"
                  key={action}
                  aria-pressed={selected.has(action)}
                  data-chip={`action:${action}`}
                  title={ACTION_DESCRIPTIONS[action]}
                  onClick={() => toggleAction(action)}
                >
                  {action.replace('_', ' ')}
                </button>
              ))}
            </div>
          );
        })}
        <div class="segmented" role="group" aria-label="Time range">
          {TIME_RANGES.map((range) => {
            const pressed = since.length === 1 && since[0] === range;
            return (
              <button
                type="button"
                class="chip"
                key={range}
                aria-pressed={pressed}
                data-chip={`since:${range}`}
                title={`Events of the last ${range}`}
                onClick={() => onQuery(setTerm(query, 'since', pressed ? [] : [range]))}
              >
                {range}
              </button>
            );
          })}
        </div>
      </div>
      <MoreFilters collapsible={collapsible} active={types.length + users.length + targetValues.length > 0}>
        <label class="select-filter">
          <span class="sr-only">Resource type</span>
          <select
            id={`${idPrefix}-type`}
            value={typeValue}
            onChange={(e) => {
              const v = e.currentTarget.value;
              if (v !== '*several') onQuery(setTerm(query, 'resource_type', v ? [v] : []));
            }}
          >
            <option value="">any resource</option>
            {typeValue === '*several' && <option value="*several">{types.join(', ')}</option>}
            {RESOURCE_TYPES.map((t) => (
              <option key={t} value={t}>
                {t.replace(/_/g, ' ')}
              </option>
            ))}
          </select>
        </label>
        <TextFilter
          id={`${idPrefix}-user`}
          label="User"
          placeholder="user"
          value={formatValueList(users)}
          options={usernames}
          onCommit={(v) => onQuery(applyValueList(query, 'username', v))}
        />
        <TextFilter
          id={`${idPrefix}-target`}
          label="Target"
          placeholder="target"
          value={formatValueList(targetValues)}
          options={targets}
          onCommit={(v) => onQuery(applyValueList(query, 'resource_target', v))}
        />
      </MoreFilters>
    </div>
  );
}
