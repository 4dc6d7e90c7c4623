import { useEffect, useRef, useState } from 'preact/hooks';
import Sortable from 'sortablejs';
import { api, isDestination, isStage, segment, type AppStats, type Instance, type InstanceStats } from '../api';
import { ErrorNote, Page, Switch, formatRate, useLoad } from '../components';
import { href } from '../router';

/** How often the page reads the counters; rates are the change between two readings. */
const STATS_EVERY_MS = 2_000;

interface Reading {
  stats: AppStats;
  /** Per instance: events/s since the reading before (undefined until there are two). */
  rates: Map<number, { in?: number; dropped?: number; delivered?: number }>;
}

const stageTotal = (stats: InstanceStats | undefined) => (stats ? (stats.stage.processed ?? 0) + (stats.stage.dropped ?? 0) + (stats.stage.errored ?? 0) : 0);

/** Reads /apps/stats every few seconds while the page is open. */
function useLiveStats(projectId: string): { reading?: Reading; error?: unknown } {
  const [state, setState] = useState<{ reading?: Reading; error?: unknown }>({});
  useEffect(() => {
    let previous: AppStats | undefined;
    let stopped = false;
    const read = async () => {
      try {
        const stats = await api<AppStats>('GET', `/projects/${segment(projectId)}/apps/stats`);
        const rates: Reading['rates'] = new Map();
        const seconds = previous ? (Date.parse(stats.at) - Date.parse(previous.at)) / 1000 : 0;
        for (const now of stats.results) {
          const before = previous?.results.find((entry) => entry.instanceId === now.instanceId);
          // A counter that went down is a process that restarted: no rate for that reading.
          const rate = (a: number, b: number) => (before && seconds > 0 && a >= b ? (a - b) / seconds : undefined);
          rates.set(now.instanceId, {
            in: rate(stageTotal(now), stageTotal(before)),
            dropped: rate(now.stage.dropped ?? 0, before?.stage.dropped ?? 0),
            delivered: rate(now.delivery.delivered ?? 0, before?.delivery.delivered ?? 0),
          });
        }
        previous = stats;
        if (!stopped) setState({ reading: { stats, rates } });
      } catch (error) {
        if (!stopped) setState((old) => ({ ...old, error }));
      }
    };
    void read();
    const timer = setInterval(read, STATS_EVERY_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [projectId]);
  return state;
}

export function PipelinePage({ projectId }: { projectId: string }) {
  const instances = useLoad(() => api<{ results: Instance[] }>('GET', `/projects/${segment(projectId)}/apps`), [projectId]);
  const { reading, error: statsError } = useLiveStats(projectId);
  const [error, setError] = useState<unknown>();
  const [status, setStatus] = useState('');
  const all = [...(instances.data?.results ?? [])].sort((a, b) => a.order - b.order);
  const stages = all.filter(isStage);
  const destinations = all.filter((instance) => !isStage(instance) && isDestination(instance));
  const others = all.filter((instance) => !isStage(instance) && !isDestination(instance));

  const act = async (action: () => Promise<unknown>, done?: string) => {
    setError(undefined);
    try {
      await action();
      await instances.reload();
      if (done) setStatus(done);
    } catch (failure) {
      setError(failure);
    }
  };
  /** The chain's order is one list: the stages as given, then the rest as they were. */
  const saveStageOrder = (ordered: Instance[]) =>
    act(() => api('PUT', `/projects/${segment(projectId)}/apps/order`, { order: [...ordered, ...all.filter((instance) => !isStage(instance))].map((instance) => instance.id) }), `Saved the order: ${ordered.map((instance) => instance.name).join(' → ')}`);
  const move = (index: number, by: number) => {
    const ordered = [...stages];
    const [moved] = ordered.splice(index, 1);
    ordered.splice(index + by, 0, moved!);
    void saveStageOrder(ordered);
  };
  const rowFor = (instance: Instance, index?: number) => (
    <AppRow
      key={instance.id}
      projectId={projectId}
      instance={instance}
      stats={reading?.stats.results.find((entry) => entry.instanceId === instance.id)}
      rates={reading?.rates.get(instance.id)}
      onToggle={(enabled) => act(() => api('PATCH', `/projects/${segment(projectId)}/apps/${instance.id}`, { enabled }), `${instance.name} ${enabled ? 'enabled' : 'disabled'}`)}
      move={index === undefined ? undefined : { up: index > 0 ? () => move(index, -1) : undefined, down: index < stages.length - 1 ? () => move(index, 1) : undefined }}
    />
  );

  return (
    <Page title={`Pipeline of ${projectId}`} actions={<a class="button" href={href({ page: 'install', projectId })}>Install an app</a>}>
      <ErrorNote error={instances.error ?? error} />
      <p class="status" role="status" aria-live="polite">
        {status}
      </p>
      {reading && reading.stats.unreachable.length > 0 && <p class="warning">Counters are missing from {reading.stats.unreachable.join(', ')} (its /metrics did not answer).</p>}
      {statsError !== undefined && <p class="warning">The live counters could not be read: {(statsError as Error).message}</p>}
      <h2 id="stages-title">Stages (processEvent), in order</h2>
      <p class="hint">Each event goes through these top to bottom; drag a row by its handle, or use the arrow buttons, to change the order.</p>
      <SortableList ids={stages.map((instance) => instance.id)} onReorder={(ids) => saveStageOrder(ids.map((id) => stages.find((instance) => instance.id === id)!))} labelledBy="stages-title">
        {stages.map((instance, index) => rowFor(instance, index))}
      </SortableList>
      {stages.length === 0 && <p class="empty">No stage yet: events are stored as they arrive.</p>}
      <div class="flow-arrow" aria-hidden="true">↓ stored ↓</div>
      <h2 id="destinations-title">Destinations (onEvent, exportEvents)</h2>
      <ul class="apps" aria-labelledby="destinations-title">
        {destinations.map((instance) => rowFor(instance))}
      </ul>
      {destinations.length === 0 && <p class="empty">No destination.</p>}
      {others.length > 0 && (
        <>
          <h2 id="others-title">Jobs and schedules only</h2>
          <ul class="apps" aria-labelledby="others-title">
            {others.map((instance) => rowFor(instance))}
          </ul>
        </>
      )}
    </Page>
  );
}

/**
 * A list SortableJS reorders by dragging a row's handle. Sortable moves the DOM node itself; the
 * move is undone at once and reported, so Preact stays the only one that renders the list.
 */
function SortableList({ ids, onReorder, labelledBy, children }: { ids: number[]; onReorder: (ids: number[]) => void; labelledBy: string; children: preact.ComponentChildren }) {
  const list = useRef<HTMLOListElement>(null);
  const latest = useRef({ ids, onReorder });
  latest.current = { ids, onReorder };
  useEffect(() => {
    const sortable = Sortable.create(list.current!, {
      handle: '.drag-handle',
      animation: 120,
      // Sortable's own pointer handling rather than HTML5 drag and drop: the same on every browser and touch screen.
      forceFallback: true,
      onEnd: ({ item, from, oldIndex, newIndex }) => {
        if (oldIndex === undefined || newIndex === undefined || oldIndex === newIndex) return;
        from.removeChild(item);
        from.insertBefore(item, from.children[oldIndex] ?? null);
        const next = [...latest.current.ids];
        const [moved] = next.splice(oldIndex, 1);
        next.splice(newIndex, 0, moved!);
        latest.current.onReorder(next);
      },
    });
    return () => sortable.destroy();
  }, []);
  return (
    <ol class="apps" ref={list} aria-labelledby={labelledBy}>
      {children}
    </ol>
  );
}

function AppRow(props: {
  projectId: string;
  instance: Instance;
  stats?: InstanceStats;
  rates?: Reading['rates'] extends Map<number, infer R> ? R : never;
  onToggle: (enabled: boolean) => void;
  move?: { up?: () => void; down?: () => void };
}) {
  const { projectId, instance, stats, rates, move } = props;
  const stage = isStage(instance);
  const queue = stats ? stats.queue.waiting + stats.queue.active + stats.queue.delayed : undefined;
  const figures = stage
    ? [
        ['events/s', formatRate(rates?.in)],
        ['processed', stats?.stage.processed ?? 0],
        ['dropped', stats?.stage.dropped ?? 0],
        ['errors', stats?.stage.errored ?? 0],
      ]
    : [
        ['delivered/s', formatRate(rates?.delivered)],
        ['delivered', stats?.delivery.delivered ?? 0],
        ['retries', stats?.delivery.retried ?? 0],
        ['dead letters', stats?.delivery.dead_lettered ?? 0],
      ];
  return (
    <li class={`app ${instance.enabled ? '' : 'disabled'}`} data-instance-id={instance.id}>
      {move && (
        <span class="drag-handle" title="Drag to reorder" aria-hidden="true">
          ⠿
        </span>
      )}
      <div class="app-name">
        <a href={href({ page: 'instance', projectId, instanceId: instance.id, tab: 'config' })}>{instance.name}</a>
        <span class="muted"> #{instance.id} · {instance.capabilities.filter((c) => c !== 'setupPlugin' && c !== 'teardownPlugin').join(', ')}</span>
      </div>
      <dl class="figures" aria-label={`${instance.name} counters`}>
        {figures.map(([label, value]) => (
          <div>
            <dt>{label}</dt>
            <dd data-figure={label}>{value}</dd>
          </div>
        ))}
        <div>
          <dt>queued</dt>
          <dd data-figure="queued">{queue ?? '–'}</dd>
        </div>
      </dl>
      <Switch label={`${instance.name} enabled`} checked={instance.enabled} onChange={props.onToggle} />
      {move && (
        <span class="move">
          <button type="button" onClick={move.up} disabled={!move.up} aria-label={`Move ${instance.name} up`}>
            ↑
          </button>
          <button type="button" onClick={move.down} disabled={!move.down} aria-label={`Move ${instance.name} down`}>
            ↓
          </button>
        </span>
      )}
    </li>
  );
}
