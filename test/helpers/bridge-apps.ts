/**
 * What the SDK-bridge tests share for running an app outside the pipeline: the host services under
 * a fetch policy, and one processEvent call on a sample event in a fresh VM.
 */
import { execFileSync } from 'node:child_process';
import { GuardedFetch, compileApp, createAppVm, type EventOutcome, type HostServices } from '@sluice/sandbox';
import { sampleEvents } from './api';

/** Host services whose egress allows `allowPrivate` besides public addresses (false: public only). */
export function egress(allowPrivate: string[] | false): HostServices {
  return { fetch: new GuardedFetch({ allowPrivate, timeoutMs: 5000, maxResponseBytes: 1_000_000, maxRedirects: 0 }) };
}

/** Runs the app `code` once on one sample event in a fresh VM (disposed after): its outcome. */
export async function runOnce(name: string, code: string, services: HostServices, config: Record<string, string> = {}): Promise<EventOutcome> {
  const app = await compileApp({ 'plugin.json': JSON.stringify({ name }), 'index.js': code });
  const vm = await createAppVm({ instanceId: 1, name, code: app.code, config, limits: { callTimeoutMs: 20_000 }, onLog: () => {}, services });
  try {
    const [outcome] = await vm.processEventBatch([sampleEvents(1)[0] as never]);
    return outcome!;
  } finally {
    vm.dispose();
  }
}

/** runOnce for an app that sets `event.properties.out`: that value, or an error when the app failed. */
export async function outOf(name: string, code: string, services: HostServices, config: Record<string, string> = {}): Promise<any> {
  const outcome = await runOnce(name, code, services, config);
  if (outcome.status !== 'ok') throw new Error(`the app failed: ${JSON.stringify(outcome)}`);
  return outcome.event.properties.out;
}

/**
 * Established TCP connections to `url`'s port on this machine, as the kernel sees them (`ss`):
 * idle keep-alive sockets are unref'd, so Node's own resource list would not show them.
 */
export function openConnectionsTo(url: string): number {
  const { port } = new URL(url);
  return execFileSync('ss', ['-Htn', 'state', 'established', `( dport = :${port} )`], { encoding: 'utf8' }).split('\n').filter(Boolean).length;
}

/**
 * The isolation check of every SDK bridge's test: instance 1 runs `looping` (it opens clients of
 * `serverUrl` until the cap refuses one) and instance 2 runs `thief` (it forges instance 1's first
 * handle), on the same host services. Answers both outcomes and the connections to `serverUrl`
 * before, while both VMs live, and (a probe to poll) after they are disposed.
 */
export async function loopAndThief(options: { looping: string; thief: string; config: Record<string, string>; services: HostServices; serverUrl: string }) {
  const { looping, thief, config, services, serverUrl } = options;
  const socketsBefore = openConnectionsTo(serverUrl);
  const [loopApp, thiefApp] = await Promise.all([
    compileApp({ 'plugin.json': JSON.stringify({ name: 'loop' }), 'index.js': looping }),
    compileApp({ 'plugin.json': JSON.stringify({ name: 'thief' }), 'index.js': thief }),
  ]);
  const a = await createAppVm({ instanceId: 1, name: 'loop', code: loopApp.code, config, limits: { callTimeoutMs: 20_000 }, onLog: () => {}, services });
  const b = await createAppVm({ instanceId: 2, name: 'thief', code: thiefApp.code, config: {}, limits: { callTimeoutMs: 20_000 }, onLog: () => {}, services });
  try {
    const [loop] = await a.processEventBatch([sampleEvents(1)[0] as never]);
    const [stolen] = await b.processEventBatch([sampleEvents(1)[0] as never]);
    return { loop: loop!, stolen: stolen!, socketsBefore, socketsWhileOpen: openConnectionsTo(serverUrl), socketsAfter: () => openConnectionsTo(serverUrl) };
  } finally {
    a.dispose();
    b.dispose();
  }
}
