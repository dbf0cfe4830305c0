// The frame both administration tables share: a titled section whose table has a header
// row of column names; the rows and what follows the table (forms, notes) are the caller's.
import type { ComponentChildren } from 'preact';

export function AdminTable(props: { id: string; heading: string; kind: string; columns: readonly string[]; children: ComponentChildren; after?: ComponentChildren }) {
  return (
    <section class="admin-section" aria-labelledby={props.id}>
      <h2 id={props.id}>{props.heading}</h2>
      <table class="admin-table" data-admin={props.kind}>
        <thead>
          <tr>
            {props.columns.map((c, i) => (
              <th key={i} scope="col">{c}</th>
            ))}
          </tr>
        </thead>
        <tbody>{props.children}</tbody>
      </table>
      {props.after}
    </section>
  );
}
