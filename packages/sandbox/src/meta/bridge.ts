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
  ) {
    onDispose(() => this.closeAll());
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

  closeAll(): void {
    for (const value of this.entries.values()) {
      try {
        Promise.resolve(this.close(value)).catch(() => {});
      } catch {
        // one client failing to close must not keep the others open
      }
    }
    this.entries.clear();
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

/** A payload from the VM as JSON, or a TypeError naming the bridge call. */
export function parsePayload<T>(what: string, json: string): T {
  try {
    return JSON.parse(json) as T;
  } catch {
    throw new TypeError(`${what}: the sandbox sent a malformed request`);
  }
}
