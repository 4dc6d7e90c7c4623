import { hostname } from 'node:os';
import { ProcessRegistry } from '@sluice/queues';
import type { Runtime } from './runtime';
import { SLUICE_VERSION } from './version';

/** An address to listen on everywhere says nothing to a scraper: then the machine's name is advertised. */
function advertisedHost(listenHost: string, advertise: string | undefined): string {
  if (advertise) return advertise;
  return ['0.0.0.0', '::', ''].includes(listenHost) ? hostname() : listenHost;
}

/**
 * Registers this process in Redis (role, host, metrics URL, version, start time) for the intake's
 * Prometheus service discovery and `sluice status`; returns the function that removes it.
 */
export async function announceProcess(runtime: Runtime, roles: string[], port: number): Promise<() => Promise<void>> {
  const { config } = runtime;
  const registry = new ProcessRegistry(runtime.redis, config.redisPrefix);
  const host = advertisedHost(config.host, config.advertiseHost);
  return registry.register({
    role: roles.join('+'),
    metricsUrl: `http://${host.includes(':') ? `[${host}]` : host}:${port}/metrics`,
    version: SLUICE_VERSION,
    startedAt: new Date().toISOString(),
  });
}
