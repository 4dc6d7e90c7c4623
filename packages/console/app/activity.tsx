import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { api } from './api';
import { DetailRow, ErrorNote, ExpandButton, JsonBlock, TableHead, formatTime, useLoad } from './components';

interface HourRow {
  hour: string;
  processed: number;
  dropped: number;
  errored: number;
  delivered: number;
  retried: number;
  dead_lettered: number;
}

interface ErrorGroup {
  fingerprint: string;
  message: string;
  count: number;
  firstSeen: string;
  lastSeen: string;
  sampleEvent: Record<string, unknown> | null;
}

/** The series drawn, with colours that keep 3:1 against white (WCAG's non-text contrast). */
const SERIES: Array<{ key: Exclude<keyof HourRow, 'hour'>; label: string; stroke: string }> = [
  { key: 'processed', label: 'processed', stroke: '#0b57d0' },
  { key: 'dropped', label: 'dropped', stroke: '#6e7781' },
  { key: 'errored', label: 'errored', stroke: '#b3261e' },
  { key: 'delivered', label: 'delivered', stroke: '#1a7f37' },
  { key: 'retried', label: 'retried', stroke: '#9a6700' },
  { key: 'dead_lettered', label: 'dead-lettered', stroke: '#8250df' },
];

/** Counts per hour drawn by uPlot (a small canvas time-series chart), with the same figures as a table for screen readers. */
function HourChart({ rows }: { rows: HourRow[] }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = box.current!;
    const data: uPlot.AlignedData = [rows.map((row) => Date.parse(row.hour) / 1000), ...SERIES.map(({ key }) => rows.map((row) => row[key]))];
    const chart = new uPlot(
      {
        width: Math.max(320, element.clientWidth),
        height: 260,
        scales: { x: { time: true } },
        axes: [{}, { label: 'events per hour' }],
        series: [{}, ...SERIES.map(({ label, stroke }) => ({ label, stroke, width: 2 }))],
      },
      data,
      element,
    );
    return () => chart.destroy();
  }, [rows]);
  const active = SERIES.filter(({ key }) => rows.some((row) => row[key] > 0));
  return (
    <figure class="chart">
      <div ref={box} aria-hidden="true" />
      <figcaption>
        <details>
          <summary>The figures as a table</summary>
          <table class="list">
            <TableHead columns={['Hour', ...active.map(({ label }) => label)]} />
            <tbody>
              {rows
                .filter((row) => active.some(({ key }) => row[key] > 0))
                .map((row) => (
                  <tr>
                    <td>{formatTime(row.hour)}</td>
                    {active.map(({ key }) => (
                      <td>{row[key]}</td>
                    ))}
                  </tr>
                ))}
            </tbody>
          </table>
        </details>
      </figcaption>
    </figure>
  );
}

/** An instance's activity over time (24 h or 7 d, per hour) and its errors grouped by message. */
export function Activity({ base }: { base: string }) {
  const [range, setRange] = useState<'24h' | '7d'>('24h');
  const [open, setOpen] = useState<string>();
  const metrics = useLoad(() => api<{ results: HourRow[] }>('GET', `${base}/metrics?range=${range}`), [base, range]);
  const errors = useLoad(() => api<{ results: ErrorGroup[] }>('GET', `${base}/errors`), [base]);
  const totals = Object.fromEntries(SERIES.map(({ key }) => [key, (metrics.data?.results ?? []).reduce((sum, row) => sum + row[key], 0)]));
  return (
    <section aria-labelledby="activity-title">
      <h2 id="activity-title">Metrics over time</h2>
      <div class="toolbar">
        <label for="activity-range">Range</label>
        <select id="activity-range" value={range} onChange={(e) => setRange(e.currentTarget.value as '24h' | '7d')}>
          <option value="24h">last 24 hours</option>
          <option value="7d">last 7 days</option>
        </select>
        <button type="button" onClick={() => Promise.all([metrics.reload(), errors.reload()])}>
          Refresh
        </button>
      </div>
      <ErrorNote error={metrics.error ?? errors.error} />
      <dl class="figures totals" aria-label={`Totals over the ${range === '24h' ? 'last 24 hours' : 'last 7 days'}`}>
        {SERIES.map(({ key, label }) => (
          <div>
            <dt>{label}</dt>
            <dd data-total={key}>{totals[key]}</dd>
          </div>
        ))}
      </dl>
      {metrics.data && <HourChart rows={metrics.data.results} />}
      <h2 id="errors-title">Errors, grouped</h2>
      {errors.data && errors.data.results.length === 0 && <p class="empty">No errors recorded.</p>}
      {errors.data && errors.data.results.length > 0 && (
        <table class="list errors" aria-labelledby="errors-title">
          <TableHead columns={['Error', 'Count', 'First seen', 'Last seen', { hidden: 'Sample' }]} />
          <tbody>
            {errors.data.results.map((group) => (
              <>
                <tr>
                  <td class="message">{group.message}</td>
                  <td data-error-count>{group.count}</td>
                  <td>{formatTime(group.firstSeen)}</td>
                  <td>{formatTime(group.lastSeen)}</td>
                  <td>
                    {group.sampleEvent && (
                      <ExpandButton expanded={open === group.fingerprint} onToggle={() => setOpen(open === group.fingerprint ? undefined : group.fingerprint)}>
                        Sample event
                      </ExpandButton>
                    )}
                  </td>
                </tr>
                {open === group.fingerprint && (
                  <DetailRow columns={5}>
                    <JsonBlock value={group.sampleEvent} label="sample event" />
                  </DetailRow>
                )}
              </>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
