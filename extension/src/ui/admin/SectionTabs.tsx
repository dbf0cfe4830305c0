// The full view's two sections for site managers: the events, and Administration.
import { ADMIN_TEXT } from '../../wording.js';

export type Section = 'events' | 'admin';

const SECTIONS: { id: Section; label: string }[] = [
  { id: 'events', label: ADMIN_TEXT.tabEvents },
  { id: 'admin', label: ADMIN_TEXT.tabAdmin },
];

export function SectionTabs(props: { section: Section; onSection(section: Section): void }) {
  return (
    <nav class="sections" aria-label="Sections">
      {SECTIONS.map((s) => (
        <button
          key={s.id}
          type="button"
          class="button subtle"
          data-section-tab={s.id}
          aria-pressed={props.section === s.id}
          onClick={() => props.onSection(s.id)}
        >
          {s.label}
        </button>
      ))}
    </nav>
  );
}
