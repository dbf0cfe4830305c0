// Export buttons: fetch GET /export with the bearer token in a header (never in the URL)
// and save what comes back as a file.
import { useState } from 'preact/hooks';
import type { Settings } from '../settings.js';
import { EXPORT_TEXT } from '../wording.js';

type Format = 'csv' | 'ndjson';

function filenameOf(response: Response, format: Format): string {
  const match = /filename="?([^";]+)"?/.exec(response.headers.get('content-disposition') ?? '');
  return match?.[1] ?? `vigil-audit-${new Date().toISOString().slice(0, 19).replace(/:/g, '')}.${format}`;
}

export function ExportButtons({ settings, query, compact = false }: { settings: Settings; query: string; compact?: boolean }) {
  const [status, setStatus] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const run = async (format: Format) => {
    if (!settings.serverUrl || !settings.token) return;
    setBusy(true);
    setStatus(EXPORT_TEXT.running);
    try {
      const url = `${settings.serverUrl}/export?${new URLSearchParams({ q: query, format })}`;
      const response = await fetch(url, { headers: { authorization: `Bearer ${settings.token}` } });
      if (!response.ok) {
        const body = (await response.json().catch(() => null)) as { error?: { message?: string } } | null;
        setStatus(EXPORT_TEXT.failed(response.status, body?.error?.message ?? response.statusText));
        return;
      }
      const blob = await response.blob();
      const link = document.createElement('a');
      link.href = URL.createObjectURL(blob);
      link.download = filenameOf(response, format);
      link.click();
      setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
      setStatus(EXPORT_TEXT.done);
    } catch {
      setStatus(EXPORT_TEXT.unreachable);
    } finally {
      setBusy(false);
    }
  };

  return (
    <span class="export">
      {(['csv', 'ndjson'] as const).map((format) => (
        <button key={format} type="button" class="button subtle" disabled={busy} title={EXPORT_TEXT.title} data-export={format} onClick={() => void run(format)}>
          {compact ? EXPORT_TEXT.shortLabel(format) : EXPORT_TEXT.label(format)}
        </button>
      ))}
      <span class="export-status" role="status" aria-live="polite" data-export-status>
        {status ?? ''}
      </span>
    </span>
  );
}
