// The full view's table. One row is in the tab order at a time; arrow keys move
// between rows and Enter opens the detail.
import type { AuditEvent } from '../../../shared/event.js';
import { ACTION_DESCRIPTIONS } from '../../../shared/vocabulary.js';
import { actorName, diffSize, groupOf, outcomeOf, relativeTime } from '../present.js';
import { OUTCOME_WORDS } from '../wording.js';
import { localTimeWithZone, utcTime } from './timeText.js';

export function EventTable(props: {
  items: AuditEvent[];
  now: number;
  /** Absolute times in UTC rather than the local zone (UTC is always on hover). */
  utc: boolean;
  selectedId: string | null;
  onSelect(event: AuditEvent): void;
}) {
  const { items, now, selectedId } = props;
  const focusIndex = Math.max(0, items.findIndex((e) => e.id === selectedId));
  const onKeyDown = (e: KeyboardEvent, index: number) => {
    const move = e.key === 'ArrowDown' ? 1 : e.key === 'ArrowUp' ? -1 : 0;
    if (move) {
      e.preventDefault();
      const next = items[index + move];
      const row = (e.currentTarget as HTMLElement)[move > 0 ? 'nextElementSibling' : 'previousElementSibling'] as HTMLElement | null;
      if (next && row) {
        props.onSelect(next);
        row.focus();
      }
    } else if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      props.onSelect(items[index]!);
    }
  };
  return (
    <table class="events-table">
      <thead>
        <tr>
          <th scope="col">time</th>
          <th scope="col">actor</th>
          <th scope="col">action</th>
          <th scope="col">resource</th>
          <th scope="col">target</th>
          <th scope="col">status</th>
          <th scope="col">ip</th>
          <th scope="col">changes</th>
        </tr>
      </thead>
      <tbody>
        {items.map((event, i) => (
          <tr
            key={event.id}
            data-id={event.id}
            data-outcome={outcomeOf(event.statusCode)}
            class={`group-${groupOf(event.action)} outcome-${outcomeOf(event.statusCode)}${event.id === selectedId ? ' selected' : ''}`}
            tabIndex={i === focusIndex ? 0 : -1}
            aria-selected={event.id === selectedId}
            onClick={() => props.onSelect(event)}
            onKeyDown={(e) => onKeyDown(e, i)}
          >
            <td class="when">
              <time dateTime={event.time} title={utcTime(event.time)} data-absolute>
                {props.utc ? utcTime(event.time) : localTimeWithZone(event.time)}
              </time>{' '}
              <span class="relative">{relativeTime(event.time, now)}</span>
            </td>
            <td>{actorName(event)}</td>
            <td>
              <span class={`tag group-${groupOf(event.action)} outcome-${outcomeOf(event.statusCode)}`} title={ACTION_DESCRIPTIONS[event.action]}>
                {event.action}
              </span>
            </td>
            <td>{event.resourceType.replace(/_/g, ' ')}</td>
            <td class="target">{event.resourceTarget}</td>
            <StatusCell statusCode={event.statusCode} />
            <td>{event.ip ?? ''}</td>
            <td>{diffSize(event) || ''}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The status code, and in words what became of the action when it did not happen. */
function StatusCell({ statusCode }: { statusCode: number | null }) {
  const words = OUTCOME_WORDS[outcomeOf(statusCode)];
  return <td class={words.done ? undefined : 'outcome'}>{words.done ? (statusCode ?? '') : `${statusCode} ${words.label}`}</td>;
}
