// Counts per time bucket (events.stats), stacked by action group. Drag across the bars,
// or use the arrow keys (Shift extends) and Enter, to filter to that stretch of time.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { AuditAction } from '../../../shared/vocabulary.js';
import { hasHostAccess, settingsClient } from '../api.js';
import { ACTION_GROUPS, GROUP_LABELS, groupOf, type ActionGroup } from '../present.js';
import type { Settings } from '../settings.js';
import { stateFromError } from '../connectionState.js';
import { parseAuditQuery } from '../../../shared/query.js';

interface Stats {
  from: string;
  to: string;
  bucketMs: number;
  buckets: { start: string; total: number; counts: Record<string, number> }[];
}

const GROUPS = Object.keys(ACTION_GROUPS) as ActionGroup[];
const WIDTH = 1000;
const HEIGHT = 90;

function bucketLabel(ms: number): string {
  const minutes = ms / 60_000;
  if (minutes < 60) return `${minutes} min`;
  if (minutes < 1440) return `${minutes / 60} h`;
  return `${minutes / 1440} d`;
}

export function Timeline(props: {
  settings: Settings;
  query: string;
  onRange(fromMs: number, toMs: number, bucketMs: number): void;
}) {
  const { settings, query } = props;
  const [stats, setStats] = useState<(Stats & { query: string }) | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [selection, setSelection] = useState<[number, number] | null>(null);
  const [cursor, setCursor] = useState(0);
  const dragging = useRef<number | null>(null);
  const svg = useRef<SVGSVGElement>(null);

  useEffect(() => {
    let live = true;
    if (!settings.serverUrl || !settings.token || !parseAuditQuery(query).ok) return;
    settingsClient(settings)
      .events.stats.query({ ...(query.trim() ? { q: query } : {}), buckets: 60 })
      .then(
        (s) => {
          if (!live) return;
          setStats({ ...s, query });
          setProblem(null);
          setSelection(null);
          setCursor(Math.max(0, s.buckets.length - 1));
        },
        async (error: unknown) => {
          const state = await stateFromError(error, settings, () => hasHostAccess(settings.serverUrl!));
          if (live) setProblem(state.id);
        },
      );
    return () => {
      live = false;
    };
  }, [settings.serverUrl, settings.token, query]);

  // Without counts (the list below says why: forbidden, unreachable...) there is no timeline.
  if (problem) return null;
  if (!stats) return <div class="timeline placeholder" aria-hidden="true" />;
  const n = stats.buckets.length;
  const max = Math.max(1, ...stats.buckets.map((b) => b.total));
  const barW = WIDTH / n;
  const total = stats.buckets.reduce((sum, b) => sum + b.total, 0);

  const indexAt = (clientX: number) => {
    const rect = svg.current!.getBoundingClientRect();
    return Math.min(n - 1, Math.max(0, Math.floor(((clientX - rect.left) / rect.width) * n)));
  };
  const apply = (a: number, b: number) => {
    const lo = Math.min(a, b);
    const hi = Math.max(a, b);
    const from = Date.parse(stats.buckets[lo]!.start);
    const to = Math.min(Date.parse(stats.buckets[hi]!.start) + stats.bucketMs, Date.parse(stats.to));
    props.onRange(from, to, stats.bucketMs);
  };

  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key === 'ArrowLeft' || e.key === 'ArrowRight') {
      e.preventDefault();
      const next = Math.min(n - 1, Math.max(0, cursor + (e.key === 'ArrowRight' ? 1 : -1)));
      setCursor(next);
      setSelection(e.shiftKey ? [selection?.[0] ?? cursor, next] : [next, next]);
    } else if (e.key === 'Enter' && selection) {
      e.preventDefault();
      apply(selection[0], selection[1]);
    } else if (e.key === 'Escape') {
      setSelection(null);
    }
  };

  const sel = selection ? [Math.min(...selection), Math.max(...selection)] : null;
  const selText = sel
    ? `${new Date(stats.buckets[sel[0]!]!.start).toLocaleString()} – ${new Date(Date.parse(stats.buckets[sel[1]!]!.start) + stats.bucketMs).toLocaleString()}`
    : null;

  return (
    <section class="timeline" aria-label="Timeline" data-stats-query={stats.query}>
      <div class="timeline-head">
        <span>
          {total.toLocaleString('en-US')} {total === 1 ? 'event' : 'events'} in this range, {bucketLabel(stats.bucketMs)} buckets
        </span>
        <span class="legend">
          {GROUPS.map((g) => (
            <span class={`legend-item group-${g}`} key={g}>
              {GROUP_LABELS[g]}
            </span>
          ))}
        </span>
      </div>
      <div
        class="timeline-chart"
        tabIndex={0}
        role="group"
        aria-roledescription="timeline"
        aria-label={`Event counts over time. Drag across it, or use the arrow keys (Shift extends) and Enter, to filter to a stretch of time.${selText ? ` Selected ${selText}.` : ''}`}
        onKeyDown={onKeyDown}
        onPointerDown={(e) => {
          const i = indexAt(e.clientX);
          dragging.current = i;
          setSelection([i, i]);
          setCursor(i);
          (e.currentTarget as Element).setPointerCapture(e.pointerId);
        }}
        onPointerMove={(e) => {
          if (dragging.current !== null) setSelection([dragging.current, indexAt(e.clientX)]);
        }}
        onPointerUp={(e) => {
          if (dragging.current === null) return;
          const start = dragging.current;
          dragging.current = null;
          apply(start, indexAt(e.clientX));
        }}
      >
      <svg ref={svg} viewBox={`0 0 ${WIDTH} ${HEIGHT}`} preserveAspectRatio="none" aria-hidden="true">
        {stats.buckets.map((bucket, i) => {
          let y = HEIGHT;
          return (
            <g key={bucket.start}>
              <title>{`${new Date(bucket.start).toLocaleString()}: ${bucket.total} events`}</title>
              <rect class="hit" x={i * barW} y={0} width={barW} height={HEIGHT} />
              {GROUPS.map((g) => {
                const count = Object.entries(bucket.counts)
                  .filter(([action]) => groupOf(action as AuditAction) === g)
                  .reduce((s, [, c]) => s + c, 0);
                if (!count) return null;
                const h = (count / max) * (HEIGHT - 4);
                y -= h;
                return <rect key={g} class={`bar group-${g}`} x={i * barW + barW * 0.1} y={y} width={barW * 0.8} height={h} />;
              })}
            </g>
          );
        })}
        {sel && <rect class="brush" x={sel[0]! * barW} y={0} width={(sel[1]! - sel[0]! + 1) * barW} height={HEIGHT} />}
        {!sel && <rect class="cursor" x={cursor * barW} y={0} width={barW} height={HEIGHT} />}
      </svg>
      </div>
      <div class="timeline-axis" aria-hidden="true">
        <span>{new Date(stats.from).toLocaleString()}</span>
        <span>{new Date(stats.to).toLocaleString()}</span>
      </div>
    </section>
  );
}
