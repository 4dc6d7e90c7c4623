import * as http from 'node:http';
import { dirname, join } from 'node:path';
import { FetchBlockedError, type GuardedFetch } from '../host-fetch';

/**
 * What every host-side SDK bridge (pg, aws-sdk, @google-cloud/*, snowflake-sdk) shares: the
 * table of host objects an app holds by number, and the egress check of an address.
 */

/**
 * Host objects (clients, connections) one VM holds, by handle: the app only ever sees the number.
 * Each VM has its own table, so a handle passed to another instance names nothing there. Capped
 * per instance; everything left is closed when the VM is disposed (teardown, reload, shutdown).
 */
export class HandleTable<T> {
  private readonly entries = new Map<number, T>();
  private next = 1;

  constructor(
    /** The bridge's name in errors: "pg", "S3". */
    private readonly what: string,
    private readonly max: number,
    private readonly close: (value: T) => unknown,
    onDispose: (close: () => void) => void,
    /** Runs once every close begun at disposal has settled (a shared agent destroyed after the goodbyes its clients send). */
    afterDispose?: () => void,
  ) {
    onDispose(() => void this.closeAll().finally(afterDispose));
  }

  get size(): number {
    return this.entries.size;
  }

  add(value: T): number {
    if (this.entries.size >= this.max) {
      throw new Error(`${this.what}: more than ${this.max} open connections in this app; close (end) the ones it no longer needs`);
    }
    const handle = this.next++;
    this.entries.set(handle, value);
    return handle;
  }

  /** The object behind a handle of this VM; a clear error for any other value. */
  get(handle: unknown): T {
    const value = typeof handle === 'number' ? this.entries.get(handle) : undefined;
    if (value === undefined) throw new Error(`${this.what}: no such client in this app (closed, or not this app's own)`);
    return value;
  }

  /** Forgets a handle and answers its object (undefined when it was not there). */
  remove(handle: unknown): T | undefined {
    const value = typeof handle === 'number' ? this.entries.get(handle) : undefined;
    if (value !== undefined) this.entries.delete(handle as number);
    return value;
  }

  /** Closes every client left; settles when all closes have (one failing to close does not keep the others open). */
  closeAll(): Promise<void> {
    const closing = [...this.entries.values()].map((value) => Promise.resolve().then(() => this.close(value)));
    this.entries.clear();
    return Promise.allSettled(closing).then(() => undefined);
  }
}

/**
 * The first address of `host`, checked by the same guard as `fetch` (loopback, private and
 * link-local refused unless SLUICE_FETCH_ALLOW_PRIVATE allows them). A client that connects to
 * the answer cannot be sent elsewhere by a DNS answer that changes after the check.
 */
export async function guardedAddress(what: string, host: string, guard: GuardedFetch): Promise<string> {
  if (host.startsWith('/')) throw new FetchBlockedError(`${what}: unix sockets (${host}) are not reachable from apps`);
  return (await guard.checkedAddresses(what, host))[0]!;
}

/**
 * `work`, or an error naming the bridge call once it has taken longer than `ms` (an SDK's own
 * timeouts cover one request, not a call of several); `onLate` then cancels what can be cancelled.
 */
export async function withinTimeLimit<T>(what: string, ms: number, work: Promise<T>, onLate?: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onLate?.();
      reject(new Error(`${what} took longer than ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** A payload from the VM as JSON, or a TypeError naming the bridge call. */
export function parsePayload<T>(what: string, json: string): T {
  try {
    return JSON.parse(json) as T;
  } catch {
    throw new TypeError(`${what}: the sandbox sent a malformed request`);
  }
}

type TeenyAgents = { getAgent: (uri: string, options: { agent?: unknown }) => unknown };
const AGENT_HONOURED = Symbol.for('sluice.teeny-request.agent-honoured');

/**
 * teeny-request, the HTTP client of @google-cloud/storage and @google-cloud/common (BigQuery),
 * chooses every request's agent itself (its keep-alive pool, or a proxy agent of its own from
 * HTTP(S)_PROXY) and ignores any the caller gives. Its choice is patched, once per process, to
 * take the http.Agent a request's options carry as `agent` (a client's request interceptor sets
 * the guard's `nodeAgent`); a request without one keeps teeny-request's own choice.
 * `requireFromSdk` is a require made in the SDK's folder, so the copy patched is the SDK's own.
 */
export function honourRequestAgentInTeenyRequest(requireFromSdk: NodeJS.Require): void {
  const agents = requireFromSdk(join(dirname(requireFromSdk.resolve('teeny-request')), 'agents.js')) as TeenyAgents & { [AGENT_HONOURED]?: true };
  if (agents[AGENT_HONOURED]) return;
  const chooseOwn = agents.getAgent;
  agents.getAgent = (uri, options) => (options.agent instanceof http.Agent ? options.agent : chooseOwn(uri, options));
  agents[AGENT_HONOURED] = true;
}
