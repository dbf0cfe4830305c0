import type { DiffEntry } from '../../../shared/event.js';
import { diffValue } from '../present.js';

export function DiffTable({ id, diff }: { id?: string; diff: Record<string, DiffEntry> }) {
  return (
    <table class="diff" id={id}>
      <thead>
        <tr>
          <th scope="col">field</th>
          <th scope="col">old</th>
          <th scope="col">
            <span class="sr-only">becomes</span>
          </th>
          <th scope="col">new</th>
        </tr>
      </thead>
      <tbody>
        {Object.entries(diff).map(([field, entry]) => (
          <tr key={field} class={entry.secret ? 'secret' : undefined}>
            <th scope="row">{field}</th>
            <td class="old">{diffValue(entry, 'old')}</td>
            <td class="arrow" aria-hidden="true">
              →
            </td>
            <td class="new">{diffValue(entry, 'new')}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
