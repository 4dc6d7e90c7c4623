import { useEffect, useState } from 'preact/hooks';
import { api, isDestination, segment, type InstanceDetail, type LogLine } from '../api';
import { Backfills } from '../backfill';
import { Activity } from '../activity';
import { ConfigForm } from '../config-form';
import { TestRun } from '../test-run';
import { ErrorNote, Page, SourceView, Switch, TableHead, formatTime, useLoad } from '../components';
import { href } from '../router';

type Tab = 'config' | 'logs' | 'metrics' | 'source' | 'test';

export function InstancePage({ projectId, instanceId, tab }: { projectId: string; instanceId: number; tab: Tab }) {
  const base = `/projects/${segment(projectId)}/apps/${instanceId}`;
  const detail = useLoad(() => api<InstanceDetail>('GET', base), [base]);
  const [error, setError] = useState<unknown>();
  const data = detail.data;
  const toggle = async (enabled: boolean) => {
    setError(undefined);
    try {
      await api('PATCH', base, { enabled });
      await detail.reload();
    } catch (failure) {
      setError(failure);
    }
  };
  const tabs: Array<[Tab, string]> = [
    ['config', 'Configuration'],
    ['logs', 'Logs'],
    ['metrics', 'Metrics'],
    ['test', 'Test'],
    ['source', 'Source'],
  ];
  return (
    <Page title={data ? `${data.name} #${data.id}` : `App #${instanceId}`} actions={data && <Switch label={`${data.name} enabled`} checked={data.enabled} onChange={toggle} />}>
      <ErrorNote error={detail.error ?? error} />
      {data?.pluginJson.description && <p>{data.pluginJson.description}</p>}
      <nav class="tabs" aria-label="App instance">
        {tabs.map(([name, label]) => (
          <a href={href({ page: 'instance', projectId, instanceId, tab: name })} aria-current={tab === name ? 'page' : undefined}>
            {label}
          </a>
        ))}
      </nav>
      {data && tab === 'config' && <ConfigForm key={data.versionHash} projectId={projectId} detail={data} onSaved={detail.reload} />}
      {data && tab === 'config' && isDestination(data) && <Backfills base={base} />}
      {tab === 'logs' && <Logs base={base} />}
      {tab === 'metrics' && <Activity base={base} />}
      {data && tab === 'source' && <Source appId={data.appId} />}
      {data && tab === 'test' && <TestRun projectId={projectId} base={base} />}
    </Page>
  );
}

const LEVELS = ['debug', 'log', 'info', 'warn', 'error'] as const;
const PAGE = 100;

/** The instance's console output, newest first: a level filter, a search, older pages, and a live tail over SSE. */
function Logs({ base }: { base: string }) {
  const [level, setLevel] = useState('');
  const [search, setSearch] = useState('');
  const [follow, setFollow] = useState(false);
  const [lines, setLines] = useState<LogLine[]>([]);
  const [more, setMore] = useState(false);
  const [error, setError] = useState<unknown>();
  const query = (extra: Record<string, string>) => new URLSearchParams({ limit: String(PAGE), ...(level && { level }), ...extra }).toString();

  useEffect(() => {
    setLines([]);
    setError(undefined);
    if (follow) {
      // The stream starts with the latest lines, then sends each new one as it is written.
      const source = new EventSource(`/api${base}/logs?${query({ follow: '1' })}`);
      source.onmessage = (message) => {
        const line = JSON.parse(message.data as string) as LogLine;
        setLines((old) => (old.some((known) => known.id === line.id) ? old : [line, ...old]));
      };
      source.onerror = () => setError(new Error('the live tail lost its connection; it reconnects by itself'));
      source.onopen = () => setError(undefined);
      return () => source.close();
    }
    api<{ results: LogLine[] }>('GET', `${base}/logs?${query({})}`).then(({ results }) => {
      setLines(results);
      setMore(results.length === PAGE);
    }, setError);
    return undefined;
  }, [base, level, follow]);

  const older = async () => {
    const oldest = lines.at(-1);
    if (!oldest) return;
    try {
      const { results } = await api<{ results: LogLine[] }>('GET', `${base}/logs?${query({ to: oldest.timestamp })}`);
      const known = new Set(lines.map((line) => line.id));
      setLines([...lines, ...results.filter((line) => !known.has(line.id))]);
      setMore(results.length === PAGE);
    } catch (failure) {
      setError(failure);
    }
  };
  const needle = search.trim().toLowerCase();
  const shown = needle ? lines.filter((line) => line.message.toLowerCase().includes(needle)) : lines;
  return (
    <section aria-labelledby="logs-title">
      <h2 id="logs-title">Logs</h2>
      <div class="toolbar">
        <label for="log-level">Level</label>
        <select id="log-level" value={level} onChange={(e) => setLevel(e.currentTarget.value)}>
          <option value="">all</option>
          {LEVELS.map((name) => (
            <option value={name}>{name} and above</option>
          ))}
        </select>
        <label for="log-search">Search</label>
        <input id="log-search" type="search" value={search} onInput={(e) => setSearch(e.currentTarget.value)} />
        <span class="switch-label" id="follow-label">
          Live tail
        </span>
        <Switch label="Live tail" checked={follow} onChange={setFollow} />
      </div>
      <ErrorNote error={error} />
      <table class="logs" aria-live={follow ? 'polite' : undefined}>
        <caption class="visually-hidden">Log lines, newest first</caption>
        <TableHead columns={['Time', 'Level', 'Message']} />
        <tbody>
          {shown.map((line) => (
            <tr key={line.id} class={`level-${line.level}`}>
              <td>{formatTime(line.timestamp)}</td>
              <td>{line.level}</td>
              <td class="message">{line.message}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {shown.length === 0 && <p class="empty">{needle ? 'No line matches.' : 'No log lines yet.'}</p>}
      {!follow && more && (
        <button type="button" onClick={older}>
          Older lines
        </button>
      )}
    </section>
  );
}

function Source({ appId }: { appId: number }) {
  const app = useLoad(() => api<{ source: Record<string, string> }>('GET', `/apps/${appId}?source=1`), [appId]);
  return (
    <section aria-labelledby="source-title">
      <h2 id="source-title">Source (read only)</h2>
      <ErrorNote error={app.error} />
      {Object.entries(app.data?.source ?? {})
        .sort(([a], [b]) => (a === 'plugin.json' ? -1 : b === 'plugin.json' ? 1 : a.localeCompare(b)))
        .map(([name, text]) => (
          <SourceView name={name} text={text} />
        ))}
    </section>
  );
}
