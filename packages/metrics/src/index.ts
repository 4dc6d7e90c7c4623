import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export { Registry };

/**
 * The metrics every Sluice service exposes. One object per process: in `sluice start` the
 * intake, stage workers and runner share it, so one /metrics shows the whole pipeline.
 */
export class SluiceMetrics {
  readonly registry = new Registry();

  readonly eventsReceived = new Counter({
    name: 'sluice_events_received_total',
    help: 'Events accepted by the intake (acknowledged after the Redis write).',
    labelNames: ['project'],
    registers: [this.registry],
  });

  readonly intakeRefused = new Counter({
    name: 'sluice_intake_refused_events_total',
    help: 'Events the intake refused with a Retry-After (reason: rate_limit = 429, backpressure = 503).',
    labelNames: ['project', 'reason'],
    registers: [this.registry],
  });

  readonly overflowEvents = new Counter({
    name: 'sluice_ingestion_overflow_events_total',
    help: "Events of hot persons: beyond their person's token bucket (SLUICE_PERSON_BUCKET_CAPACITY, refilled at SLUICE_PERSON_BUCKET_REFILL_PER_SECOND).",
    labelNames: ['project'],
    registers: [this.registry],
  });

  readonly intakeBodyChecks = new Counter({
    name: 'sluice_intake_body_checks_total',
    help: 'Capture bodies decoded and checked, by where (thread = a body-check thread, event_loop = inline).',
    labelNames: ['where'],
    registers: [this.registry],
  });

  readonly captureRequests = new Counter({
    name: 'sluice_capture_requests_total',
    help: 'Capture requests by route and HTTP status.',
    labelNames: ['route', 'status'],
    registers: [this.registry],
  });

  readonly stageEvents = new Counter({
    name: 'sluice_stage_events_total',
    help: 'Events through a processEvent stage by outcome (processed, dropped, errored).',
    labelNames: ['app', 'instance', 'outcome'],
    registers: [this.registry],
  });

  readonly stageBatchSeconds = new Histogram({
    name: 'sluice_stage_batch_duration_seconds',
    help: 'Time to run one batch through one stage, sandbox call included.',
    labelNames: ['app'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  readonly eventsStored = new Counter({
    name: 'sluice_events_stored_total',
    help: 'Events written to the events table (duplicates by uuid not counted).',
    labelNames: ['project'],
    registers: [this.registry],
  });

  readonly duplicatesSkipped = new Counter({
    name: 'sluice_events_duplicate_total',
    help: 'Events the store skipped because their uuid was already stored (retries after a crash).',
    labelNames: ['project'],
    registers: [this.registry],
  });

  readonly deliveryCalls = new Counter({
    name: 'sluice_delivery_calls_total',
    help: 'onEvent (one per event) and exportEvents (one per batch) calls in the runner, by outcome (ok, retry, error).',
    labelNames: ['app', 'instance', 'function', 'outcome'],
    registers: [this.registry],
  });

  readonly deliveryEvents = new Counter({
    name: 'sluice_delivery_events_total',
    help: 'Events handed to a destination, by outcome (delivered, retried, dead_lettered, ignored, held: waiting behind their person\'s retry).',
    labelNames: ['app', 'instance', 'function', 'outcome'],
    registers: [this.registry],
  });

  readonly deliverySeconds = new Histogram({
    name: 'sluice_delivery_duration_seconds',
    help: 'Time of one sandbox crossing of a destination, included: an exportEvents call, or the onEvent calls of one deliver job (one crossing for all its events; one per event after a limit hit).',
    labelNames: ['app', 'instance', 'function'],
    buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
    registers: [this.registry],
  });

  readonly appJobs = new Counter({
    name: 'sluice_app_jobs_total',
    help: 'App jobs (meta.jobs) run by the runner, by outcome (ok, retry, error, missing).',
    labelNames: ['app', 'instance', 'job', 'outcome'],
    registers: [this.registry],
  });

  readonly appJobsEnqueued = new Counter({
    name: 'sluice_app_jobs_enqueued_total',
    help: 'App jobs enqueued through meta.jobs.',
    labelNames: ['app', 'instance', 'job'],
    registers: [this.registry],
  });

  readonly backfillEvents = new Counter({
    name: 'sluice_backfill_events_total',
    help: 'Stored events backfills handed to a destination (counted once their slice is done; a slice resent after a crash counts again).',
    labelNames: ['app', 'instance'],
    registers: [this.registry],
  });

  readonly scheduleRuns = new Counter({
    name: 'sluice_schedule_runs_total',
    help: 'runEveryMinute/Hour/Day runs by outcome (ok, error, skipped: a run was still in progress or the tick was stale).',
    labelNames: ['app', 'instance', 'function', 'outcome'],
    registers: [this.registry],
  });

  readonly queueWaiting = new Gauge({
    name: 'sluice_queue_waiting',
    help: 'Jobs waiting in each queue (each job holds a batch of events).',
    labelNames: ['queue'],
    registers: [this.registry],
  });

  readonly queueDelayed = new Gauge({
    name: 'sluice_queue_delayed',
    help: 'Jobs in each queue waiting out a retry backoff (a store job while Postgres is down) or a delay.',
    labelNames: ['queue'],
    registers: [this.registry],
  });

  readonly queueOldestWaitingAge = new Gauge({
    name: 'sluice_queue_oldest_waiting_age_seconds',
    help: 'Age of the oldest job waiting in each queue (0 when none waits): how far a stage lags behind.',
    labelNames: ['queue'],
    registers: [this.registry],
  });

  readonly eventStoreLag = new Histogram({
    name: 'sluice_event_store_lag_seconds',
    help: 'Time from the intake accepting an event to the store writing it (all stages included).',
    labelNames: ['project'],
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800],
    registers: [this.registry],
  });

  readonly sandboxLimitHits = new Counter({
    name: 'sluice_sandbox_limit_hits_total',
    help: 'App calls the sandbox stopped at a limit (time, memory, stack); the VM is rebuilt after each.',
    labelNames: ['app', 'instance', 'limit'],
    registers: [this.registry],
  });

  readonly appDisables = new Counter({
    name: 'sluice_app_disables_total',
    help: 'Instances Sluice disabled by itself (reason setup_failed: setupPlugin failed for good, PostHog\'s rule).',
    labelNames: ['app', 'instance', 'reason'],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'sluice_' });
  }

  /** Gauges whose values must be read at scrape time (e.g. queue lengths from Redis). */
  onScrape(refresh: (metrics: SluiceMetrics) => Promise<void>): void {
    this.scrapeHooks.push(refresh);
  }

  async render(): Promise<{ contentType: string; body: string }> {
    await Promise.allSettled(this.scrapeHooks.map((hook) => hook(this)));
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  private readonly scrapeHooks: Array<(metrics: SluiceMetrics) => Promise<void>> = [];
}
export * from './http';
export * from './listen';
