import { useEffect, useState } from 'preact/hooks';
import { api } from './api';
import { ErrorNote, TableHead, formatTime, useLoad } from './components';

interface Backfill {
  id: number;
  from: string;
  to: string;
  events: string[] | null;
  rate: number;
  done: number;
  total: number;
  eventsPerSecond: number;
  state: 'running' | 'done' | 'cancelled' | 'failed';
  error: string | null;
}

const POLL_MS = 1_000;
const DAY_MS = 24 * 60 * 60 * 1000;
/** `<input type="datetime-local">`'s value for a time (local, to the minute). */
const localInput = (ms: number) => new Date(ms - new Date(ms).getTimezoneOffset() * 60_000).toISOString().slice(0, 16);

/** Beyond PostHog: send a time range of the stored events to this destination again, with progress. */
export function Backfills({ base }: { base: string }) {
  const list = useLoad(() => api<{ results: Backfill[] }>('GET', `${base}/backfills`), [base]);
  const [from, setFrom] = useState(() => localInput(Date.now() - DAY_MS));
  const [to, setTo] = useState(() => localInput(Date.now() + 60_000));
  const [names, setNames] = useState('');
  const [rate, setRate] = useState('');
  const [error, setError] = useState<unknown>();
  const running = list.data?.results.some((backfill) => backfill.state === 'running') ?? false;
  useEffect(() => {
    if (!running) return undefined;
    const timer = setInterval(() => void list.reload(), POLL_MS);
    return () => clearInterval(timer);
  }, [running, list.reload]);
  const start = async (event: Event) => {
    event.preventDefault();
    setError(undefined);
    const events = names.split(',').map((name) => name.trim()).filter(Boolean);
    try {
      await api('POST', `${base}/backfill`, { from: new Date(from).toISOString(), to: new Date(to).toISOString(), ...(events.length > 0 && { events }), ...(rate && { rate: Number(rate) }) });
      await list.reload();
    } catch (failure) {
      setError(failure);
    }
  };
  const cancel = async (id: number) => {
    try {
      await api('DELETE', `${base}/backfills/${id}`);
      await list.reload();
    } catch (failure) {
      setError(failure);
    }
  };
  return (
    <section aria-labelledby="backfill-title">
      <h2 id="backfill-title">Backfill</h2>
      <p class="hint">Sends the project's stored events of a time range to this destination only, oldest first, through its retries and dead letters.</p>
      <form class="inline-form backfill-form" onSubmit={start}>
        <label for="backfill-from">From</label>
        <input id="backfill-from" type="datetime-local" required value={from} onInput={(e) => setFrom(e.currentTarget.value)} />
        <label for="backfill-to">To</label>
        <input id="backfill-to" type="datetime-local" required value={to} onInput={(e) => setTo(e.currentTarget.value)} />
        <label for="backfill-events">Only events</label>
        <input id="backfill-events" placeholder="all; or a,b" value={names} onInput={(e) => setNames(e.currentTarget.value)} />
        <label for="backfill-rate">Events/s at most</label>
        <input id="backfill-rate" type="number" min={1} placeholder="default" value={rate} onInput={(e) => setRate(e.currentTarget.value)} />
        <button type="submit" disabled={running}>
          Start backfill
        </button>
      </form>
      <ErrorNote error={list.error ?? error} />
      {list.data && list.data.results.length > 0 && (
        <table class="list backfills">
          <TableHead columns={['Range', 'State', 'Progress', { hidden: 'Actions' }]} />
          <tbody>
            {list.data.results.map((backfill) => (
              <tr data-backfill={backfill.id}>
                <td>
                  {formatTime(backfill.from)} – {formatTime(backfill.to)}
                  {backfill.events && <span class="muted"> ({backfill.events.join(', ')})</span>}
                </td>
                <td data-state>{backfill.state}{backfill.error ? `: ${backfill.error}` : ''}</td>
                <td>
                  <progress max={Math.max(backfill.total, 1)} value={backfill.done} aria-label={`backfill ${backfill.id} progress`} />{' '}
                  <span data-progress>
                    {backfill.done} / {backfill.total}
                  </span>
                  {backfill.state === 'running' && <span class="muted"> · {backfill.eventsPerSecond.toFixed(0)} events/s</span>}
                </td>
                <td>{backfill.state === 'running' && <button type="button" onClick={() => cancel(backfill.id)}>Cancel</button>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
