import { hostname } from 'node:os';
import type { RedisClient } from './connection';

/** What a running Sluice process says of itself, for service discovery and `sluice status`. */
export interface ProcessRecord {
  /** Unique per process start: `<host>:<pid>:<startedAt ms>`. */
  id: string;
  /** `intake`, `worker`, `runner`, `admin`, or several joined by `+` (`sluice start`: `intake+worker+runner`). */
  role: string;
  host: string;
  pid: number;
  /** Where Prometheus scrapes it: `http://<host>:<port>/metrics`. */
  metricsUrl: string;
  version: string;
  /** ISO 8601. */
  startedAt: string;
  /** When it last refreshed its entry (ISO 8601). */
  seenAt: string;
}

/** How long an entry outlives its process's last refresh: a killed process drops out after this. */
export const PROCESS_TTL_MS = 30_000;
const REFRESH_MS = 10_000;

/**
 * Running processes, each under its own key with a TTL that the process refreshes, plus an index
 * of their ids. All in one Redis Cluster slot (the `{processes}` hash tag), so one MGET reads them.
 */
export class ProcessRegistry {
  private readonly indexKey: string;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {
    this.indexKey = `${prefix}:{processes}`;
  }

  private keyOf(id: string): string {
    return `${this.prefix}:{processes}:${id}`;
  }

  /** Registers this process and keeps its entry fresh until the returned function removes it. */
  async register(record: Omit<ProcessRecord, 'id' | 'seenAt' | 'pid' | 'host'> & { host?: string }): Promise<() => Promise<void>> {
    const pid = process.pid;
    const host = record.host ?? hostname();
    const id = `${host}:${pid}:${Date.parse(record.startedAt)}`;
    const write = async () => {
      const entry: ProcessRecord = { ...record, id, host, pid, seenAt: new Date().toISOString() };
      await this.redis.multi().set(this.keyOf(id), JSON.stringify(entry), 'PX', PROCESS_TTL_MS).zadd(this.indexKey, Date.now(), id).exec();
    };
    await write();
    // A missed refresh (Redis briefly away) is retried at the next tick; the TTL leaves room for two.
    const timer = setInterval(() => void write().catch(() => undefined), REFRESH_MS);
    timer.unref();
    return async () => {
      clearInterval(timer);
      await this.redis.multi().del(this.keyOf(id)).zrem(this.indexKey, id).exec();
    };
  }

  /** The processes whose entries have not expired, oldest start first; expired ids leave the index. */
  async list(): Promise<ProcessRecord[]> {
    const ids = await this.redis.zrange(this.indexKey, 0, -1);
    if (ids.length === 0) return [];
    const entries = await this.redis.mget(ids.map((id) => this.keyOf(id)));
    const gone = ids.filter((_id, i) => entries[i] === null);
    if (gone.length) await this.redis.zrem(this.indexKey, ...gone);
    return entries
      .filter((entry): entry is string => entry !== null)
      .map((entry) => JSON.parse(entry) as ProcessRecord)
      .sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.id.localeCompare(b.id));
  }
}
