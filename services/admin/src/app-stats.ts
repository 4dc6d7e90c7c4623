import type { FastifyInstance } from 'fastify';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { isStage } from '@sluice/core';
import { allLanes, deliverQueue, queueDepths, stageQueue, type ProcessRegistry, type QueueProducer } from '@sluice/queues';
import { summed } from './process-routes';
import type { Store } from '@sluice/store';
import { projectOrNotFound } from './lookup';
import { consoleSchemas } from './console-schemas';

export interface AppStatsDeps {
  store: Store;
  producer: QueueProducer;
  processes: ProcessRegistry;
  orderShards: number;
}

/** The per-instance counters the console shows, by metric and outcome label. */
const COUNTED = {
  sluice_stage_events_total: 'stage',
  sluice_delivery_events_total: 'delivery',
} as const;

type Tally = Record<'stage' | 'delivery', Record<string, number>>;

/** How long one process's /metrics may take before it is counted as not answering. */
const SCRAPE_TIMEOUT_MS = 2_000;

async function scrape(url: string): Promise<string> {
  const response = await fetch(url, { signal: AbortSignal.timeout(SCRAPE_TIMEOUT_MS) });
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  return response.text();
}

/** Adds one process's stage and delivery counters into `tallies`, per instance id. */
function addCounters(text: string, tallies: Map<string, Tally>): void {
  for (const family of parsePrometheusTextFormat(text)) {
    const kind = COUNTED[family.name as keyof typeof COUNTED];
    if (!kind) continue;
    for (const sample of family.metrics) {
      const instance = sample.labels?.instance;
      const outcome = sample.labels?.outcome;
      if (!instance || !outcome) continue;
      let tally = tallies.get(instance);
      if (!tally) tallies.set(instance, (tally = { stage: {}, delivery: {} }));
      tally[kind][outcome] = (tally[kind][outcome] ?? 0) + Number(sample.value ?? 0);
    }
  }
}

/**
 * GET /api/projects/:projectId/apps/stats: each instance's counters summed over every running
 * process (scraped from the /metrics each one announces), with its queues' depths. Counters are
 * totals since each process started: a reader takes rates from two readings (the console does).
 */
export async function appStatsRoutes(app: FastifyInstance, deps: AppStatsDeps): Promise<void> {
  app.get<{ Params: { projectId: string } }>('/projects/:projectId/apps/stats', { schema: consoleSchemas.appStats }, async (request) => {
    const { id } = await projectOrNotFound(deps.store, request.params.projectId);
    const [instances, processes] = await Promise.all([deps.store.listInstances(id), deps.processes.list()]);
    const tallies = new Map<string, Tally>();
    const scraped = await Promise.allSettled(processes.map(async (process) => addCounters(await scrape(process.metricsUrl), tallies)));
    const failed = scraped.flatMap((outcome, index) => (outcome.status === 'rejected' ? [processes[index]!.id] : []));
    const results = await Promise.all(
      instances.map(async (instance) => {
        const queueOf = isStage(instance.capabilities) ? stageQueue : instance.capabilities.some((c) => c === 'onEvent' || c === 'exportEvents') ? deliverQueue : undefined;
        const lanes = queueOf ? allLanes((shard) => queueOf(instance.appId, shard), deps.orderShards) : [];
        const { waiting, active, delayed, failed: failedJobs } = summed('', await queueDepths(deps.producer, lanes));
        const tally = tallies.get(String(instance.id)) ?? { stage: {}, delivery: {} };
        return {
          instanceId: instance.id,
          stage: tally.stage,
          delivery: tally.delivery,
          queue: { waiting, active, delayed, failed: failedJobs },
        };
      }),
    );
    return { at: new Date().toISOString(), processes: processes.length, unreachable: failed, results };
  });
}
