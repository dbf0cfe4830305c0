// Options: the server's sinks (where the audit trail is streamed: syslog, webhooks, SIEMs),
// for site managers only. Each sink's delivery (count, lag, last error) is read again every
// few seconds while the page is open; a site manager adds, tests, edits and deletes sinks.
import { useEffect, useState } from 'preact/hooks';
import { settingsClient } from '../api.js';
import { errorCode } from '../connectionState.js';
import { STREAMING_TEXT } from '../wording.js';
import { SINK_DEFAULTS, SINK_KIND_NAMES, SINK_KINDS, SINK_STATES, type SinkFormat, type SinkKind, type SinkView } from '../../../shared/sinkCatalog.js';
import { Note, type NoteValue } from './Note.js';
import type { SectionProps } from './sections.js';
import type { Settings } from '../settings.js';

/** How often the sinks' delivery is read again while the page is open. */
const REFRESH_MS = 2000;

const isSiteManager = (settings: Settings) =>
  Boolean(settings.serverUrl && settings.token && settings.session?.kind === 'user' && settings.session.user.role === 'site_manager');

function failure(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (errorCode(error) === undefined) return STREAMING_TEXT.unreachable;
  return STREAMING_TEXT.refused(message);
}

export function StreamingSection({ settings }: SectionProps) {
  const manager = isSiteManager(settings);
  const [sinks, setSinks] = useState<SinkView[] | null>(null);
  const [listError, setListError] = useState<string | null>(null);
  const [note, setNote] = useState<NoteValue>(null);
  const [editing, setEditing] = useState<SinkView | 'new' | null>(null);
  const [confirming, setConfirming] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [generation, setGeneration] = useState(0);

  useEffect(() => {
    if (!manager) return;
    let live = true;
    const refresh = async () => {
      try {
        const list = await settingsClient(settings).sinks.list.query();
        if (!live) return;
        setSinks(list);
        setListError(null);
      } catch (error) {
        if (live) setListError(STREAMING_TEXT.listFailed(error instanceof Error ? error.message : String(error)));
      }
    };
    void refresh();
    const timer = setInterval(() => void refresh(), REFRESH_MS);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [manager, settings.serverUrl, settings.token, generation]);

  if (!manager) return null;
  const client = settingsClient(settings);
  const reload = () => setGeneration((g) => g + 1);

  const run = async (work: () => Promise<NonNullable<NoteValue>>) => {
    setBusy(true);
    setNote(null);
    try {
      setNote(await work());
    } catch (error) {
      setNote({ tone: 'error', text: failure(error) });
    } finally {
      setBusy(false);
    }
  };

  const testSink = (sink: SinkView) =>
    run(async () => {
      const answer = await client.sinks.test.mutate({ id: sink.id });
      return answer.ok
        ? { tone: 'ok', text: STREAMING_TEXT.testPassed(sink.name, answer.message, answer.durationMs) }
        : { tone: 'error', text: STREAMING_TEXT.testFailed(sink.name, answer.message) };
    });

  const deleteSink = (sink: SinkView) =>
    run(async () => {
      await client.sinks.delete.mutate({ id: sink.id });
      setConfirming(null);
      reload();
      return { tone: 'ok', text: STREAMING_TEXT.deleted(sink.name) };
    });

  return (
    <section aria-labelledby="streaming-h" data-streaming>
      <h2 id="streaming-h">{STREAMING_TEXT.heading}</h2>
      <p class="hint">{STREAMING_TEXT.intro}</p>
      {listError && (
        <p class="note error" role="alert" data-sinks-error>
          {listError}
        </p>
      )}
      {sinks && sinks.length === 0 && <p class="hint" data-sinks-none>{STREAMING_TEXT.none}</p>}
      {sinks?.map((sink) => (
        <article class="sink" key={sink.id} data-sink={sink.name} data-sink-state={sink.state} aria-label={sink.name}>
          <h3>
            {sink.name} <span class="hint">{SINK_KINDS[sink.kind].label}</span>
          </h3>
          <dl class="fields">
            <dt>Kind</dt>
            <dd data-sink-kind>{sink.kind}</dd>
            <dt>URL</dt>
            <dd data-sink-url>{sink.url}</dd>
            <dt>Format</dt>
            <dd data-sink-format>{sink.format}</dd>
            <dt>Filter</dt>
            <dd data-sink-filter>{sink.q ? <code>{sink.q}</code> : STREAMING_TEXT.allEvents}</dd>
            <dt>State</dt>
            <dd data-sink-state-label>{SINK_STATES[sink.state]}</dd>
            <dt>Delivered</dt>
            <dd data-sink-delivered={sink.delivered}>{sink.delivered.toLocaleString('en-US')}</dd>
            <dt>Lag</dt>
            <dd data-sink-lag={sink.lag.events} data-sink-lag-seconds={sink.lag.seconds}>
              {STREAMING_TEXT.lag(sink.lag.events, sink.lag.seconds)}
            </dd>
            <dt>Last delivery</dt>
            <dd data-sink-last-delivery>{sink.lastDeliveredAt ? new Date(sink.lastDeliveredAt).toLocaleString() : STREAMING_TEXT.never}</dd>
            <dt>Last error</dt>
            <dd data-sink-last-error={sink.lastError ?? ''} class={sink.lastError ? 'note error' : undefined}>
              {sink.lastError
                ? `${sink.lastError}${sink.lastErrorAt ? ` (${new Date(sink.lastErrorAt).toLocaleString()})` : ''}`
                : STREAMING_TEXT.noError}
            </dd>
          </dl>
          {confirming === sink.id ? (
            <div class="row" role="group" aria-label={STREAMING_TEXT.confirmDelete(sink.name)}>
              <span>{STREAMING_TEXT.confirmDelete(sink.name)}</span>
              <button class="button primary" type="button" data-sink-confirm-delete disabled={busy} onClick={() => void deleteSink(sink)}>
                Delete
              </button>
              <button class="button subtle" type="button" onClick={() => setConfirming(null)}>
                Cancel
              </button>
            </div>
          ) : (
            <div class="row">
              <button class="button" type="button" data-sink-test disabled={busy} onClick={() => void testSink(sink)}>
                Send test message
              </button>
              <button class="button" type="button" data-sink-edit disabled={busy} onClick={() => setEditing(sink)}>
                Edit
              </button>
              <button class="button subtle" type="button" data-sink-delete disabled={busy} onClick={() => setConfirming(sink.id)}>
                Delete
              </button>
            </div>
          )}
        </article>
      ))}
      {note && <Note note={note} id="streaming-note" />}
      {editing ? (
        <SinkForm
          key={editing === 'new' ? 'new' : editing.id}
          sink={editing === 'new' ? null : editing}
          save={(input) =>
            run(async () => {
              const name = input.name;
              if (editing === 'new') await client.sinks.create.mutate(input);
              else await client.sinks.update.mutate({ id: editing.id, ...input });
              setEditing(null);
              reload();
              return { tone: 'ok', text: editing === 'new' ? STREAMING_TEXT.created(name) : STREAMING_TEXT.updated(name) };
            })
          }
          cancel={() => setEditing(null)}
          busy={busy}
        />
      ) : (
        <div class="row">
          <button class="button primary" type="button" data-sink-add onClick={() => setEditing('new')}>
            Add a sink
          </button>
        </div>
      )}
    </section>
  );
}

/** What the form sends: a listed sink's settings, and a secret when one is typed. */
type SinkInput = Pick<SinkView, 'name' | 'kind' | 'url' | 'format' | 'q' | 'batchSize'> & { secret?: string };

/** Adding a sink (`sink` null) or editing one; an empty secret keeps the stored one. */
function SinkForm({ sink, save, cancel, busy }: { sink: SinkView | null; save: (input: SinkInput) => void; cancel: () => void; busy: boolean }) {
  const [name, setName] = useState(sink?.name ?? '');
  const [kind, setKind] = useState<SinkKind>(sink?.kind ?? 'webhook');
  const [url, setUrl] = useState(sink?.url ?? '');
  const [format, setFormat] = useState<SinkFormat>(sink?.format ?? SINK_DEFAULTS.format);
  const [q, setQ] = useState(sink?.q ?? '');
  const [secret, setSecret] = useState('');
  const [batchSize, setBatchSize] = useState(String(sink?.batchSize ?? SINK_DEFAULTS.batchSize));
  const definition = SINK_KINDS[kind];
  const formats: readonly SinkFormat[] = definition.formats;

  const submit = (e: Event) => {
    e.preventDefault();
    save({
      name: name.trim(),
      kind,
      url: url.trim(),
      format: formats.includes(format) ? format : SINK_DEFAULTS.format,
      q: q.trim(),
      // Not a number: sent as it is, so the server names the field.
      batchSize: Number(batchSize),
      ...(secret ? { secret } : {}),
    });
  };

  return (
    <form class="stack" onSubmit={submit} data-sink-form={sink ? 'edit' : 'new'} aria-label={sink ? `Edit sink ${sink.name}` : 'Add a sink'}>
      <label for="sink-name">Name</label>
      <input id="sink-name" value={name} required onInput={(e) => setName(e.currentTarget.value)} />
      <label for="sink-kind">Kind</label>
      <select id="sink-kind" value={kind} onChange={(e) => setKind(e.currentTarget.value as SinkKind)}>
        {SINK_KIND_NAMES.map((k) => (
          <option key={k} value={k}>
            {SINK_KINDS[k].label}
          </option>
        ))}
      </select>
      <label for="sink-url">URL</label>
      <input
        id="sink-url"
        value={url}
        required
        spellcheck={false}
        placeholder={`${definition.schemes.join('|')}://host:port`}
        onInput={(e) => setUrl(e.currentTarget.value)}
      />
      <label for="sink-format">Format</label>
      <select id="sink-format" value={formats.includes(format) ? format : SINK_DEFAULTS.format} onChange={(e) => setFormat(e.currentTarget.value as SinkFormat)}>
        {formats.map((f) => (
          <option key={f} value={f}>
            {f}
          </option>
        ))}
      </select>
      <label for="sink-q">Only events matching</label>
      <input id="sink-q" value={q} spellcheck={false} placeholder="e.g. action:delete,cordon (empty: all events)" onInput={(e) => setQ(e.currentTarget.value)} />
      {definition.secret && (
        <>
          <label for="sink-secret">Secret</label>
          <input
            id="sink-secret"
            type="password"
            autocomplete="off"
            value={secret}
            placeholder={sink?.hasSecret ? STREAMING_TEXT.secretKept : definition.secret}
            title={definition.secret}
            onInput={(e) => setSecret(e.currentTarget.value)}
          />
        </>
      )}
      <label for="sink-batch">Batch size</label>
      <input id="sink-batch" type="number" min={1} max={definition.maxBatchSize} value={batchSize} onInput={(e) => setBatchSize(e.currentTarget.value)} />
      <div class="row">
        <button class="button primary" type="submit" data-sink-save disabled={busy}>
          {sink ? 'Save sink' : 'Add sink'}
        </button>
        <button class="button subtle" type="button" onClick={cancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
