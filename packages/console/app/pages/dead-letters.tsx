import { useEffect, useState } from 'preact/hooks';
import { api, isDestination, segment, type DeadLetter, type Instance } from '../api';
import { DetailRow, ErrorNote, ExpandButton, JsonBlock, Page, TableHead, formatTime, useLoad } from '../components';

const PAGE = 50;
const LIVE_EVERY_MS = 5_000;

/** Events a destination gave up on: filter, inspect, replay one, a selection or all. */
export function DeadLettersPage({ projectId }: { projectId: string }) {
  const base = `/projects/${segment(projectId)}`;
  const [instance, setInstance] = useState('');
  const [errorFilter, setErrorFilter] = useState('');
  const [selected, setSelected] = useState<Set<number>>(new Set());
  const [open, setOpen] = useState<number>();
  const [status, setStatus] = useState('');
  const [error, setError] = useState<unknown>();
  const instances = useLoad(() => api<{ results: Instance[] }>('GET', `${base}/apps`), [base]);
  const letters = useLoad(() => api<{ results: DeadLetter[]; total: number }>('GET', `${base}/dead-letters?${new URLSearchParams({ limit: String(PAGE), ...(instance && { instance }) })}`), [base, instance]);
  // The count stays live: destinations keep dead-lettering (or a replay's events come back).
  useEffect(() => {
    const timer = setInterval(() => void letters.reload(), LIVE_EVERY_MS);
    return () => clearInterval(timer);
  }, [letters.reload]);
  const needle = errorFilter.trim().toLowerCase();
  const shown = (letters.data?.results ?? []).filter((letter) => !needle || letter.error.toLowerCase().includes(needle));
  const nameOf = (id: number) => instances.data?.results.find((entry) => entry.id === id)?.name ?? `#${id}`;

  const replay = async (body: { ids?: number[]; instanceId?: number }, what: string) => {
    setError(undefined);
    setStatus(`Replaying ${what}…`);
    try {
      // `remaining` counts what the selection left (a replay of at most `limit`), not the whole list.
      const { replayed } = await api<{ replayed: number }>('POST', `${base}/dead-letters/replay`, body);
      setStatus(`Replayed ${replayed}.`);
      setSelected(new Set());
      await letters.reload();
    } catch (failure) {
      setStatus('');
      setError(failure);
    }
  };
  const toggle = (id: number) =>
    setSelected((old) => {
      const next = new Set(old);
      if (!next.delete(id)) next.add(id);
      return next;
    });
  return (
    <Page title="Dead letters">
      <p class="count" aria-live="polite">
        {letters.data ? `${letters.data.total} dead letter${letters.data.total === 1 ? '' : 's'}${instance ? ` for ${nameOf(Number(instance))}` : ''}` : 'Loading…'}
      </p>
      <div class="toolbar">
        <label for="dl-instance">Destination</label>
        <select id="dl-instance" value={instance} onChange={(e) => setInstance(e.currentTarget.value)}>
          <option value="">all</option>
          {instances.data?.results.filter(isDestination).map((entry) => (
            <option value={String(entry.id)}>{entry.name} #{entry.id}</option>
          ))}
        </select>
        <label for="dl-error">Error contains</label>
        <input id="dl-error" type="search" value={errorFilter} onInput={(e) => setErrorFilter(e.currentTarget.value)} />
        <button type="button" onClick={() => letters.reload()}>Refresh</button>
        <button type="button" disabled={selected.size === 0} onClick={() => replay({ ids: [...selected] }, `${selected.size} selected`)}>
          Replay selected ({selected.size})
        </button>
        <button type="button" disabled={!letters.data?.total} onClick={() => replay(instance ? { instanceId: Number(instance) } : {}, 'all')}>
          Replay all{instance ? ` of ${nameOf(Number(instance))}` : ''}
        </button>
      </div>
      <p role="status" class="status">
        {status}
      </p>
      <ErrorNote error={letters.error ?? error} />
      <table class="list">
        <caption class="visually-hidden">Dead letters, oldest first</caption>
        <TableHead columns={[{ hidden: 'Select' }, 'Failed', 'Destination', 'Event', 'Error', 'Attempts', { hidden: 'Actions' }]} />
        <tbody>
          {shown.map((letter) => (
            <>
              <tr key={letter.id}>
                <td>
                  <input type="checkbox" aria-label={`Select dead letter ${letter.id}`} checked={selected.has(letter.id)} onChange={() => toggle(letter.id)} />
                </td>
                <td>{formatTime(letter.failedAt)}</td>
                <td>
                  {nameOf(letter.instanceId)} <span class="muted">{letter.function}</span>
                </td>
                <td>
                  {letter.event.event} <span class="muted">{letter.event.distinct_id}</span>
                </td>
                <td class="message">{letter.error}</td>
                <td>{letter.attempts}</td>
                <td>
                  <ExpandButton expanded={open === letter.id} onToggle={() => setOpen(open === letter.id ? undefined : letter.id)}>
                    Inspect<span class="visually-hidden"> dead letter {letter.id}</span>
                  </ExpandButton>{' '}
                  <button type="button" onClick={() => replay({ ids: [letter.id] }, `dead letter ${letter.id}`)}>
                    Replay<span class="visually-hidden"> dead letter {letter.id}</span>
                  </button>
                </td>
              </tr>
              {open === letter.id && (
                <DetailRow columns={7}>
                  <JsonBlock value={letter.event} label={`event of dead letter ${letter.id}`} />
                </DetailRow>
              )}
            </>
          ))}
        </tbody>
      </table>
      {letters.data && shown.length === 0 && <p class="empty">No dead letters{needle ? ' match' : ''}.</p>}
      {letters.data && letters.data.total > PAGE && <p class="hint">The first {PAGE} of {letters.data.total} are shown; replaying all sends every one.</p>}
    </Page>
  );
}
