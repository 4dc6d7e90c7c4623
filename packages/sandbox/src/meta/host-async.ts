import type { QuickJSContext, QuickJSHandle } from 'quickjs-emscripten-core';
import { CHANNEL_JS, vmCall } from '../vm-sources';

/** The host side of one kind of request the app can await (meta.cache, fetch, …): a string in, a string (or nothing) out. */
export type HostHandler = (payload: string) => Promise<string | undefined>;

/**
 * The in-VM side of the host-call channel. An app's awaited host calls (cache, storage, fetch,
 * jobs, capture, geoip) do not cross into the host one by one: each becomes an entry in a queue
 * and a VM promise; the host takes the whole queue in one crossing, runs the requests
 * concurrently (Redis calls pipeline), and hands back every result that has settled in one
 * crossing. A batch of 100 events awaiting `cache.get` costs two crossings, not 100 promise
 * handles. `__host_notify` tells the host that the queue is no longer empty (once per round).
 */
/** Host calls one VM may have waiting at once (see the shim's request). */
export const MAX_HOST_CALLS_IN_FLIGHT = 10_000;

export const CHANNEL_SHIM = vmCall(CHANNEL_JS, JSON.stringify({ maxInFlight: MAX_HOST_CALLS_IN_FLIGHT }));

type Settled = [id: number, ok: boolean, value: string | null, details?: ErrorDetails];

/** What of a host error the app's error gets besides its message: name and code, and a bridge's own fields. */
type ErrorDetails = Record<string, string | number | boolean | null | object>;

/** Fields SDK errors carry that apps test (err.name === 'ExpiredIteratorException', err.code, BigQuery's err.errors). */
const ERROR_FIELDS = ['name', 'code', 'statusCode', '$metadata', 'errors', 'retryable', 'detail', 'severity', 'sqlState'] as const;

/** The error's fields an app may read (JSON-safe), or undefined for a plain Error. */
export function errorDetails(error: unknown): ErrorDetails | undefined {
  if (!(error instanceof Error)) return undefined;
  const details: ErrorDetails = {};
  for (const field of ERROR_FIELDS) {
    const value = (error as unknown as Record<string, unknown>)[field];
    if (value === undefined || (field === 'name' && value === 'Error')) continue;
    try {
      details[field] = JSON.parse(JSON.stringify(value)) as ErrorDetails[string];
    } catch {
      // a field that cannot cross (a cycle) stays behind
    }
  }
  return Object.keys(details).length > 0 ? details : undefined;
}

/**
 * The host side of the channel for one VM: starts the requests the VM queued, collects their
 * results as they settle, and wakes the call that is waiting for them.
 */
export class HostChannel {
  private notified = false;
  private settled: Settled[] = [];
  /** Host calls started and not yet settled. */
  private inFlight = 0;
  private wake: (() => void) | undefined;

  constructor(
    vm: QuickJSContext,
    private readonly handlers: ReadonlyMap<string, HostHandler>,
  ) {
    const notify = vm.newFunction('__host_notify', () => {
      this.notified = true;
    });
    vm.setProp(vm.global, '__host_notify', notify);
    notify.dispose();
  }

  /** Starts what the VM queued since the last take; `take` crosses into the VM once. */
  dispatch(take: () => string): void {
    if (!this.notified) return;
    this.notified = false;
    let requests: unknown;
    try {
      requests = JSON.parse(take());
    } catch {
      return; // an app that broke its own channel only breaks its own awaits
    }
    if (!Array.isArray(requests)) return;
    for (const request of requests as unknown[]) {
      if (!Array.isArray(request)) continue;
      const [id, op, payload] = request as unknown[];
      if (typeof id !== 'number') continue;
      this.start(id, String(op), typeof payload === 'string' ? payload : '');
    }
  }

  /** Whether a host call is still running (a wait can then end with its result). */
  hasInFlight(): boolean {
    return this.inFlight > 0;
  }

  private start(id: number, op: string, payload: string): void {
    this.inFlight += 1;
    const handler = this.handlers.get(op);
    let work: Promise<string | undefined>;
    try {
      work = handler ? handler(payload) : Promise.reject(new Error(`no host function "${op}"`));
    } catch (error) {
      work = Promise.reject(error);
    }
    work.then(
      (value) => this.settle([id, true, value ?? null]),
      (error: unknown) => {
        const message = error instanceof Error ? error.message : String(error);
        const details = errorDetails(error);
        this.settle(details ? [id, false, message, details] : [id, false, message]);
      },
    );
  }

  private settle(result: Settled): void {
    this.inFlight -= 1;
    this.settled.push(result);
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /** Hands every settled result to the VM in one crossing; false when there was none. */
  deliver(send: (json: string) => void): boolean {
    if (this.settled.length === 0) return false;
    const json = JSON.stringify(this.settled);
    this.settled = [];
    send(json);
    return true;
  }

  /** Resolves when a request settles, or after `ms` (the waiting call's deadline). */
  waitForResult(ms: number): Promise<void> {
    if (this.settled.length > 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, Math.max(0, ms));
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
