// A section's one-line answer to what the user just did (saved, refused...).

export type NoteValue = { tone: 'ok' | 'error'; text: string } | null;

export function Note({ note, id }: { note: NonNullable<NoteValue>; id: string }) {
  return (
    <p class={`note ${note.tone}`} id={id} role={note.tone === 'error' ? 'alert' : 'status'}>
      {note.text}
    </p>
  );
}
