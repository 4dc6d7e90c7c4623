import type { Job } from 'bullmq';
import {
  CAPTURED_BY,
  SKIPPED,
  applyStageOutcomes,
  isStage,
  stageLabel,
  type AppErrorSink,
  type Logger,
  type PluginEvent,
  type SluiceConfig,
  type StageOutcome,
} from '@sluice/core';
import type { SluiceMetrics } from '@sluice/metrics';
import { LaneOwners, workerSetFor, type EventTrails, hopJobId, pipelineEvents, stageQueue, storeQueue, type PipelineJob, type PipelineJobHead, type QueueProducer, type RedisClient } from '@sluice/queues';
import { AppSetupError, type AppVm, type AppVmPool } from '@sluice/sandbox';
import type { Store } from '@sluice/store';
import { stageTrail } from './trail';

export interface StageWorkerOptions {
  config: SluiceConfig;
  store: Store;
  connection: RedisClient;
  producer: QueueProducer;
  pool: AppVmPool;
  metrics: SluiceMetrics;
  logger: Logger;
  /** Where a processEvent error is reported, with its event (grouped over time for the console). */
  appErrors?: AppErrorSink;
  /** Sampled events' trails and every dropped event, for the console's live events. */
  trails?: EventTrails;
}

export interface StageWorker {
  /** Opens workers for stage apps installed since the last call. */
  refresh(): Promise<void>;
  close(): Promise<void>;
}

/** Which app ids `SLUICE_STAGES` (`*` or `3,7`) lets this process serve. */
function stageFilter(stages: string): (appId: number) => boolean {
  if (stages.trim() === '*') return () => true;
  const allowed = new Set(stages.split(',').map((id) => Number(id.trim())));
  return (appId) => allowed.has(appId);
}

/**
 * Serves `stage-<app>` queues (each app's ordered lanes and its unordered one, names.ts): runs one batch through the app's processEvent in one sandbox call,
 * then forwards the survivors as one job to the next hop (or the store) before completing its own
 * job. A crash between the two re-runs the hop; the forwarded job's fixed id makes the re-forward
 * a no-op, and the store's uuid key removes anything that still gets through twice.
 */
export async function startStageWorker(options: StageWorkerOptions): Promise<StageWorker> {
  const { config, store, producer, pool, metrics, logger } = options;
  const serves = stageFilter(config.stages);
  const workers = workerSetFor(config, options.connection, logger, producer);

  async function runStage(job: PipelineJobHead, events: PluginEvent[]): Promise<PluginEvent[]> {
    const stage = job.route[job.hop];
    if (!stage) throw new Error(`job ${job.batchId} has no stage at hop ${job.hop}`);
    let trail: ReturnType<typeof stageTrail> | undefined;
    try {
      const result = await pool.use(stage.instanceId, async (vm, instance) => {
        const timer = metrics.stageBatchSeconds.startTimer({ app: instance.name });
        const outcomes = await runBatch(vm, stage.instanceId, events);
        timer();
        const onError = instance.settings?.processEventErrors ?? config.processEventErrors;
        const survivors = applyStageOutcomes(events, outcomes, stageLabel(instance.name, instance.id), onError);
        const counts = { processed: 0, dropped: 0, errored: 0 };
        let firstError: string | undefined;
        for (const [index, outcome] of outcomes.entries()) {
          if (outcome.status === 'ok') counts.processed += 1;
          else if (outcome.status === 'dropped') counts.dropped += 1;
          else if (outcome.status === 'error') {
            counts.errored += 1;
            firstError ??= outcome.error;
            options.appErrors?.recordError(instance.id, `processEvent: ${outcome.error}`, events[index]);
          }
        }
        if (options.trails) trail = stageTrail(options.trails, { instanceId: instance.id, app: instance.name, onError }, events, outcomes);
        const labels = { app: instance.name, instance: String(instance.id) };
        for (const [outcome, count] of Object.entries(counts)) metrics.stageEvents.inc({ ...labels, outcome }, count);
        // One log line per batch, not per event: a failing app must not flood its own logs.
        if (firstError !== undefined) {
          const fate = onError === 'drop' ? 'dropped' : 'passed on unchanged';
          vm.log('error', `processEvent failed for ${counts.errored} of ${outcomes.length} events (${fate}); first error: ${firstError}`);
        }
        return survivors;
      });
      if (trail && options.trails) {
        // Losing a trail must not fail the batch: it is for people watching, not for the data.
        await options.trails.record(job.projectId, trail.steps, trail.dropped).catch((error: unknown) => logger.warn({ err: error, instanceId: stage.instanceId }, 'could not keep event trails'));
      }
      if (result === null) {
        // The instance was removed after these events were routed: they skip it, as if disabled.
        logger.warn({ instanceId: stage.instanceId, batchId: job.batchId }, 'stage instance no longer exists; passing events through');
        return events;
      }
      return result;
    } catch (error) {
      if (!(error instanceof AppSetupError)) throw error;
      // setupPlugin failed: like a processEvent error, the events go on unmodified.
      logger.warn({ instanceId: stage.instanceId, err: error }, 'setupPlugin failed; events continue unmodified');
      metrics.stageEvents.inc({ app: error.instance.name, instance: String(stage.instanceId), outcome: 'errored' }, events.length);
      return events;
    }
  }

  /** Runs a batch through the app, leaving out the events this very instance captured (CAPTURED_BY). */
  async function runBatch(vm: AppVm, instanceId: number, events: PluginEvent[]): Promise<Array<StageOutcome | typeof SKIPPED>> {
    const own = events.map((event) => event.properties[CAPTURED_BY] === instanceId);
    if (!own.includes(true)) return vm.processEventBatch(events);
    const ran = await vm.processEventBatch(events.filter((_, index) => !own[index]));
    let next = 0;
    return events.map((_, index) => (own[index] ? SKIPPED : ran[next++]!));
  }

  async function processJob(job: Job<PipelineJob>): Promise<void> {
    const survivors = await runStage(job.data, pipelineEvents(job.data));
    if (survivors.length === 0) return;
    const { batchId, projectId, route, shard } = job.data;
    const hop = job.data.hop + 1;
    const next = route[hop];
    // The batch stays in its lane: the next hop sees its persons' events in the same order.
    const forwarded: PipelineJob = { batchId, projectId, route, hop, shard, events: survivors };
    await producer.add(next ? stageQueue(next.appId, shard) : storeQueue(shard), forwarded, hopJobId(batchId, hop));
  }

  // The ordered lanes are dealt out among the worker processes serving the app (lane-owners.ts);
  // the unordered lane is served by all of them.
  const owners = new LaneOwners(options.connection, config.redisPrefix);
  let servedApps: number[] = [];
  let dealing = Promise.resolve();

  async function takeOwnedLanes(): Promise<void> {
    if (config.orderShards === 0 || servedApps.length === 0) return;
    const owned = await owners.beat(servedApps, config.orderShards);
    for (const [appId, shards] of owned) {
      const mine = new Set(shards);
      for (let shard = 0; shard < config.orderShards; shard++) {
        const lane = stageQueue(appId, shard);
        if (mine.has(shard)) workers.ensure(lane, processJob, { ordered: true });
        else if (workers.has(lane)) void workers.release(lane).catch((error: unknown) => logger.error({ queue: lane, err: error }, 'releasing a lane failed'));
      }
    }
  }

  /** One deal at a time: the beat timer and a refresh never interleave their ensure/release. */
  function deal(): Promise<void> {
    dealing = dealing.then(takeOwnedLanes).catch((error: unknown) => logger.warn({ err: error }, 'lane ownership beat failed; lanes stay as they are until the next one'));
    return dealing;
  }

  async function refresh(): Promise<void> {
    // Every stored stage app, not only enabled ones: jobs routed before a disable must still drain.
    const apps = (await store.listApps()).filter((app) => isStage(app.capabilities) && serves(app.id));
    servedApps = apps.map((app) => app.id);
    for (const app of apps) workers.ensure(stageQueue(app.id, undefined), processJob);
    await deal();
  }

  await refresh();
  const beat = setInterval(() => void deal(), LANE_BEAT_MS);
  beat.unref();
  return {
    refresh,
    close: async () => {
      clearInterval(beat);
      await dealing;
      // Leaving first lets the other processes take the lanes over at their next beat.
      await owners.leave(servedApps).catch((error: unknown) => logger.warn({ err: error }, 'could not leave the lane owners'));
      await workers.close();
    },
  };
}

/** How often a worker process beats and re-deals the ordered lanes (well inside LANE_MEMBER_TTL_MS). */
const LANE_BEAT_MS = 1_000;
