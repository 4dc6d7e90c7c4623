import type { AppErrorSink, AppInstance, AppLogEntry, Logger, PipelineCache, SluiceConfig } from '@sluice/core';
import type { SluiceMetrics } from '@sluice/metrics';
import type { QueueProducer, RedisClient } from '@sluice/queues';
import type { AppVmPool } from '@sluice/sandbox';
import type { Store } from '@sluice/store';

/** What the runner's parts share. */
export interface RunnerContext {
  config: SluiceConfig;
  store: Store;
  connection: RedisClient;
  producer: QueueProducer;
  pipelines: PipelineCache;
  pool: AppVmPool;
  metrics: SluiceMetrics;
  logger: Logger;
  /** Writes a line to an instance's app logs (what the app's author reads), as the sandbox does for console.*. */
  appLog: (instance: AppInstance, level: AppLogEntry['level'], message: string) => void;
  /** Where a dead letter's error is reported, with its event (grouped over time for the console). */
  appErrors?: AppErrorSink;
}

export function instanceLabels(instance: AppInstance): { app: string; instance: string } {
  return { app: instance.name, instance: String(instance.id) };
}

/** "5 s", "1.5 s", "80 ms": delays as the app logs show them. */
export function formatDelay(ms: number): string {
  return ms >= 1000 ? `${Number((ms / 1000).toFixed(1))} s` : `${ms} ms`;
}
