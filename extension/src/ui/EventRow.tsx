import { useState } from 'preact/hooks';
import type { AuditEvent } from '../../../shared/event.js';
import { ACTION_DESCRIPTIONS } from '../../../shared/vocabulary.js';
import { absoluteTime, diffSize, eventSentence, groupOf, relativeTime } from '../present.js';
import { DiffTable } from './DiffTable.js';

/** One event in the popup: its sentence (actor, verb, target, outcome), relative time; colour by action, unless it did not happen. */
export function EventRow({ event, now }: { event: AuditEvent; now: number }) {
  const [open, setOpen] = useState(false);
  const changes = diffSize(event);
  const diffId = `diff-${event.id}`;
  const s = eventSentence(event);
  return (
    <li class={`event group-${groupOf(event.action)} outcome-${s.outcome}`} data-id={event.id} data-action={event.action} data-outcome={s.outcome}>
      <div class="event-line">
        <span class="event-text">
          <span class={event.actor ? 'actor' : 'actor system'}>{s.actor}</span>{' '}
          <span class="verb" title={`${event.action}: ${ACTION_DESCRIPTIONS[event.action]}`}>
            {s.verb}
          </span>
          {s.target !== null && (
            <>
              {' '}
              <span class="rtype">{s.resourceType}</span> <span class="target">{s.target}</span>
            </>
          )}
          {s.rest && <span class="verb">{s.rest}</span>}
          {s.after && <span class="outcome">{s.after}</span>}
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
