import { useEffect, useState } from 'preact/hooks';
import type { DroppedEvent as Dropped, TrailStep } from '@sluice/core/trail';
import { api, segment } from '../api';
import { DetailRow, ErrorNote, ExpandButton, JsonBlock, Page, Switch, TableHead, formatTime, useLoad } from '../components';

interface StoredEvent {
  uuid: string;
  event: string;
  distinct_id: string;
  timestamp: string;
  properties: Record<string, unknown>;
}


const LIVE_EVERY_MS = 3_000;

/** Beyond PostHog: the latest stored events, each with its trail through the chain, and the last dropped events. */
export function LiveEventsPage({ projectId }: { projectId: string }) {
  const base = `/projects/${segment(projectId)}`;
  const [name, setName] = useState('');
  const [person, setPerson] = useState('');
  const [live, setLive] = useState(true);
  const [open, setOpen] = useState<string>();
  const query = new URLSearchParams({ limit: '50', ...(name && { event: name }), ...(person && { distinct_id: person }) }).toString();
  const events = useLoad(() => api<{ results: StoredEvent[] }>('GET', `${base}/events?${query}`), [base, query]);
  const dropped = useLoad(() => api<{ results: Dropped[] }>('GET', `${base}/dropped?limit=20`), [base]);
  useEffect(() => {
    if (!live) return undefined;
    const timer = setInterval(() => void Promise.all([events.reload(), dropped.reload()]), LIVE_EVERY_MS);
    return () => clearInterval(timer);
  }, [live, events.reload, dropped.reload]);
  return (
    <Page title="Live events">
      <div class="toolbar">
        <label for="events-name">Event</label>
        <input id="events-name" type="search" value={name} onChange={(e) => setName(e.currentTarget.value)} />
        <label for="events-person">distinct_id</label>
        <input id="events-person" type="search" value={person} onChange={(e) => setPerson(e.currentTarget.value)} />
        <span class="switch-label">Live</span>
        <Switch label="Live" checked={live} onChange={setLive} />
      </div>
      <ErrorNote error={events.error ?? dropped.error} />
      <table class="list events">
        <caption class="visually-hidden">The latest stored events, newest first</caption>
        <TableHead columns={['Time', 'Event', 'distinct_id', { hidden: 'Trail' }]} />
        <tbody>
          {events.data?.results.map((event) => (
            <>
              <tr key={event.uuid} data-uuid={event.uuid}>
                <td>{formatTime(event.timestamp)}</td>
                <td>{event.event}</td>
                <td>{event.distinct_id}</td>
                <td>
                  <ExpandButton expanded={open === event.uuid} onToggle={() => setOpen(open === event.uuid ? undefined : event.uuid)}>
                    Trail<span class="visually-hidden"> of {event.event} {event.uuid}</span>
                  </ExpandButton>
                </td>
              </tr>
              {open === event.uuid && (
                <DetailRow columns={4}>
                  <Trail base={base} event={event} />
                </DetailRow>
              )}
            </>
          ))}
        </tbody>
      </table>
      {events.data?.results.length === 0 && <p class="empty">No stored events{name || person ? ' match' : ' yet'}.</p>}
      <h2 id="dropped-title">Recently dropped</h2>
      {dropped.data?.results.length === 0 && <p class="empty">No event was dropped in the last day.</p>}
      {dropped.data && dropped.data.results.length > 0 && (
        <table class="list dropped" aria-labelledby="dropped-title">
          <TableHead columns={['Time', 'Event', 'distinct_id', 'Dropped by', 'Why']} />
          <tbody>
            {dropped.data.results.map((entry) => (
              <tr>
                <td>{formatTime(entry.at)}</td>
                <td>{entry.event}</td>
                <td>{entry.distinct_id}</td>
                <td>{entry.app}</td>
                <td class="message">{entry.reason}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Page>
  );
}

function Trail({ base, event }: { base: string; event: StoredEvent }) {
  const trail = useLoad(() => api<{ traced: boolean; steps: TrailStep[] }>('GET', `${base}/events/${event.uuid}/trail`), [base, event.uuid]);
  return (
    <div class="trail">
      <ErrorNote error={trail.error} />
      {trail.data && !trail.data.traced && <p class="hint">This event was not traced: a share of events is (SLUICE_TRAIL_SAMPLE, 1 in 100 by default; 1 traces every event).</p>}
      {trail.data && trail.data.traced && trail.data.steps.length === 0 && <p class="hint">Traced, but no app ran on it (or its trail, kept an hour, has expired).</p>}
      {trail.data && trail.data.steps.length > 0 && (
        <ol class="steps" aria-label="What each app did to it, in order">
          {trail.data.steps.map((step) => (
            <li class={`step step-${step.outcome}`}>
              <strong>{step.app}</strong> <span class="muted">#{step.instanceId}</span>: {step.outcome === 'error' ? `failed: ${step.error}` : step.outcome}
              {step.diff && (
                <ul class="diff">
                  {step.diff.map((line) => (
                    <li class={`diff-${line[0] === '+' ? 'added' : line[0] === '-' ? 'removed' : 'changed'}`}>{line}</li>
                  ))}
                </ul>
              )}
            </li>
          ))}
        </ol>
      )}
      <JsonBlock value={event} label="the stored event" />
    </div>
  );
}
