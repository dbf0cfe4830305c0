import { useState } from 'preact/hooks';
import type { AuditEvent } from '../../../shared/event.js';
import { ACTION_DESCRIPTIONS } from '../../../shared/vocabulary.js';
import { ACTION_VERBS, absoluteTime, actorName, diffSize, groupOf, relativeTime } from '../present.js';
import { DiffTable } from './DiffTable.js';

/** One event in the popup: actor, verb, target, relative time; colour by action. */
export function EventRow({ event, now }: { event: AuditEvent; now: number }) {
  const [open, setOpen] = useState(false);
  const changes = diffSize(event);
  const diffId = `diff-${event.id}`;
  return (
    <li class={`event group-${groupOf(event.action)}`} data-id={event.id} data-action={event.action}>
      <div class="event-line">
        <span class="event-text">
          <span class={event.actor ? 'actor' : 'actor system'}>{actorName(event)}</span>{' '}
          <span class="verb" title={`${event.action}: ${ACTION_DESCRIPTIONS[event.action]}`}>
            {ACTION_VERBS[event.action]}
          </span>{' '}
          <span class="rtype">{event.resourceType.replace(/_/g, ' ')}</span>{' '}
          <span class="target">{event.resourceTarget}</span>
        </span>
        <time class="when" dateTime={event.time} title={absoluteTime(event.time)}>
          {relativeTime(event.time, now)}
        </time>
      </div>
      {changes > 0 && (
        <button type="button" class="diff-toggle" aria-expanded={open} aria-controls={diffId} onClick={() => setOpen(!open)}>
          {open ? '▾' : '▸'} {changes} {changes === 1 ? 'change' : 'changes'}
        </button>
      )}
      {open && <DiffTable id={diffId} diff={event.diff} />}
    </li>
  );
}
