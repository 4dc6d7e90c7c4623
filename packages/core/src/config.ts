import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { LOG_FORMATS, type LogFormat } from './logger';
import type { ProcessEventErrors } from './outcomes';
import { RedisUrlError, parseRedisUrl } from './redis-url';

/**
 * Every setting comes from an environment variable with a default, validated once at start so a
 * typo fails with one clear line instead of a confusing error later.
 */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface SluiceConfig {
  /** Intake port; in `sluice start` the one HTTP port. */
  port: number;
  host: string;
  adminToken: string | undefined;
  projectToken: string | undefined;
  dataDir: string;
  redisUrl: string;
  redisPrefix: string;
  databaseUrl: string | undefined;
  logLevel: string;
  /** auto (readable in a terminal, JSON otherwise), json or pretty. */
  logFormat: LogFormat;
  /** Port of /metrics for a stage worker or runner started on its own. */
  metricsPort: number;
  /** Whether SLUICE_METRICS_PORT was set: a chosen port that is taken stops the process; the default is swapped for a free one. */
  metricsPortSet: boolean;
  /** The host name other machines reach this process by, in its registered metrics URL (default: the listen host, or the machine's name when that is 0.0.0.0). */
  advertiseHost: string | undefined;
  /** Whether `sluice intake` and `sluice start` serve the admin API beside capture (false: run `sluice admin` for it). */
  intakeServesAdmin: boolean;
  maxBodyBytes: number;
  /** Largest body after gzip/deflate/base64/lz64 decoding (a gzip bomb stops here). */
  maxDecodedBytes: number;
  maxEventsPerRequest: number;
  /** Per-project token bucket in Redis: events per second (0 = no limit) and burst size. */
  rateLimitEventsPerSecond: number;
  rateLimitBurst: number;
  /**
   * PostHog's hot-person rule: a token bucket per person (project + distinct_id) in each intake,
   * `personBucketCapacity` events, refilled at `personBucketRefillPerSecond`; a person's events
   * beyond it overflow (counted, and an ingestion warning at most once per person per hour).
   */
  personBucketCapacity: number;
  personBucketRefillPerSecond: number;
  /**
   * Ordered lanes per queue family (personShard): a person's events pass each app one after
   * another. 0 turns ordering off (every event takes the unordered lane). Every process of a
   * deployment must agree on it.
   */
  orderShards: number;
  /** Intake answers 503 while the first queue of a project's route holds more waiting jobs than this (0 = never). */
  backpressureWaitingJobs: number;
  /** Proxies whose X-Forwarded-For is believed (fastify's trustProxy: addresses/CIDRs, a hop count, or true). */
  trustedProxies: boolean | number | string[];
  /** Threads that decode and check large capture bodies beside the intake's event loop (0: all on the event loop). */
  intakeCheckThreads: number;
  /** Group commit: how long intake gathers concurrent requests of a project into one job. */
  batchWindowMs: number;
  batchMaxEvents: number;
  /** How long a capture request waits for its Redis write before a 503 (Redis down or failing over). */
  intakeWriteTimeoutMs: number;
  /** Jobs one worker process runs at once per queue. */
  workerConcurrency: number;
  /** Stage queues a worker serves: '*' or a comma-separated list of app ids. */
  stages: string;
  /** BullMQ lock: a crashed worker's job is taken over after about this long. */
  jobLockMs: number;
  stalledIntervalMs: number;
  appCallTimeoutMs: number;
  /** Time limit of one app job or scheduled run (runEvery*). */
  appJobTimeoutMs: number;
  /** How long one app call may take in all while it awaits host calls (fetch, SDK bridges…). */
  appHostWaitTimeoutMs: number;
  appMemoryBytes: number;
  /** Jobs one runner runs at once per deliver queue: exportEvents jobs wait there while their buffer fills. */
  deliverConcurrency: number;
  /** Multiplies PostHog's retry delays (5 s … 80 s); below 1 only to run the schedule fast in tests. */
  retryDelayScale: number;
  /** Events per second a backfill sends when its request names no rate: live traffic keeps its share. */
  backfillRate: number;
  /** SLUICE_TRAIL_SAMPLE: the share of events (0–1) whose trail through the chain is kept for an hour (the console's live events); dropped events are always kept. */
  trailSample: number;
  /** Events a backfill hands on as one slice (one deliver job, the only one in flight). */
  backfillSliceEvents: number;
  /** How long a runner holds a backfill without renewing: a dead runner's backfill is taken over after about this long. */
  backfillLeaseMs: number;
  /** The periods of runEveryMinute/Hour/Day; shorter only to run schedules fast in tests. */
  scheduleEveryMs: { runEveryMinute: number; runEveryHour: number; runEveryDay: number };
  /** Default for instances that set none: an event whose processEvent throws goes on ("continue", PostHog) or is dropped. */
  processEventErrors: ProcessEventErrors;
  /** What apps' fetch may reach besides public addresses: nothing (false), anything (true) or these addresses/CIDRs. */
  fetchAllowPrivate: boolean | string[];
  /**
   * PEM certificates apps' HTTPS egress trusts besides the public roots: SLUICE_FETCH_CA's file,
   * with NODE_EXTRA_CA_CERTS's beside it (Node adds that one to its defaults only, which a client
   * given its own CA list no longer uses). Undefined: Node's defaults, NODE_EXTRA_CA_CERTS included.
   */
  fetchCa: string | undefined;
  fetchTimeoutMs: number;
  fetchMaxResponseBytes: number;
  /** A MaxMind GeoIP2/GeoLite2 City database for meta.geoip; none by default. */
  geoipDatabase: string | undefined;
  /** posthog.capture calls one instance may make per minute in one process (a runaway or looping app stops here). */
  appCapturesPerMinute: number;
}

type Env = Record<string, string | undefined>;

function readNumber(env: Env, name: string, fallback: number, min: number, max: number, integer = false): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!(integer ? Number.isInteger(value) : Number.isFinite(value)) || value < min || value > max) {
    throw new ConfigError(`${name} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

function readInt(env: Env, name: string, fallback: number, min: number, max: number): number {
  return readNumber(env, name, fallback, min, max, true);
}

/** `SLUICE_TRUSTED_PROXIES`: empty (trust none), `true`, a hop count, or a comma-separated list of addresses/CIDRs. */
function readTrustedProxies(env: Env): boolean | number | string[] {
  const raw = (env.SLUICE_TRUSTED_PROXIES ?? '').trim();
  if (raw === '' || raw === 'false') return false;
  if (raw === 'true') return true;
  if (/^\d+$/.test(raw)) return Number(raw);
  const entries = raw.split(',').map((entry) => entry.trim()).filter(Boolean);
  const bad = entries.find((entry) => !/^[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(entry) && !['loopback', 'linklocal', 'uniquelocal'].includes(entry));
  if (bad) throw new ConfigError(`SLUICE_TRUSTED_PROXIES: "${bad}" is not an IP address, a CIDR range, loopback, linklocal or uniquelocal`);
  return entries;
}

/** `SLUICE_FETCH_ALLOW_PRIVATE`: empty/false (public addresses only), true, or a comma-separated list of addresses/CIDRs. */
function readFetchAllowPrivate(env: Env): boolean | string[] {
  const raw = (env.SLUICE_FETCH_ALLOW_PRIVATE ?? '').trim();
  if (raw === '' || raw === 'false') return false;
  if (raw === 'true') return true;
  const entries = raw.split(',').map((entry) => entry.trim()).filter(Boolean);
  const bad = entries.find((entry) => !/^[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(entry));
  if (bad) throw new ConfigError(`SLUICE_FETCH_ALLOW_PRIVATE: "${bad}" is not true, false, an IP address or a CIDR range`);
  return entries;
}

function readPemFile(name: string, path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`${name}: cannot read "${path}" (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----')) throw new ConfigError(`${name}: "${path}" holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  return text;
}

function readFetchCa(env: Env): string | undefined {
  const path = env.SLUICE_FETCH_CA;
  if (!path) return undefined;
  const extra = env.NODE_EXTRA_CA_CERTS;
  return [readPemFile('SLUICE_FETCH_CA', path), ...(extra ? [readPemFile('NODE_EXTRA_CA_CERTS', extra)] : [])].join('\n');
}

function readChoice<T extends string>(env: Env, name: string, choices: readonly T[], fallback: T): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!choices.includes(raw as T)) throw new ConfigError(`${name} must be one of ${choices.join(', ')}, got "${raw}"`);
  return raw as T;
}

function readUrl(env: Env, name: string, fallback: string | undefined, protocols: string[]): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${name} is not a valid URL: "${raw}"`);
  }
  if (!protocols.includes(url.protocol)) {
    throw new ConfigError(`${name} must start with ${protocols.map((p) => `${p}//`).join(' or ')}, got "${raw}"`);
  }
  return raw;
}

/** REDIS_URL: one Redis (`redis://`, `rediss://`) or a Redis Cluster (`redis+cluster://host:port,host:port`). */
function readRedisUrl(env: Env): string {
  const raw = env.REDIS_URL;
  if (raw === undefined || raw === '') return 'redis://127.0.0.1:6379';
  try {
    parseRedisUrl(raw);
  } catch (error) {
    if (error instanceof RedisUrlError) throw new ConfigError(`REDIS_URL ${error.message}`);
    throw error;
  }
  return raw;
}

function readPrefix(env: Env): string {
  const raw = env.SLUICE_REDIS_PREFIX ?? 'sluice';
  // The prefix becomes part of every key and BullMQ queue prefix; keep it to safe characters.
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(raw)) {
    throw new ConfigError(`SLUICE_REDIS_PREFIX may hold only letters, digits, "_", "." and "-" (1 to 64), got "${raw}"`);
  }
  return raw;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function loadConfig(env: Env = process.env): SluiceConfig {
  const logLevel = env.SLUICE_LOG_LEVEL || 'info';
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(`SLUICE_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  }
  return {
    port: readInt(env, 'SLUICE_PORT', 8000, 0, 65535),
    host: env.SLUICE_HOST || '127.0.0.1',
    adminToken: env.SLUICE_ADMIN_TOKEN || undefined,
    projectToken: env.SLUICE_PROJECT_TOKEN || undefined,
    dataDir: env.SLUICE_DATA_DIR || './.sluice',
    redisUrl: readRedisUrl(env),
    redisPrefix: readPrefix(env),
    databaseUrl: readUrl(env, 'DATABASE_URL', undefined, ['postgres:', 'postgresql:']),
    logLevel,
    logFormat: readChoice(env, 'SLUICE_LOG_FORMAT', LOG_FORMATS, 'auto'),
    metricsPort: readInt(env, 'SLUICE_METRICS_PORT', 9100, 0, 65535),
    metricsPortSet: Boolean(env.SLUICE_METRICS_PORT),
    advertiseHost: env.SLUICE_ADVERTISE_HOST || undefined,
    intakeServesAdmin: readChoice(env, 'SLUICE_INTAKE_ADMIN', ['true', 'false'] as const, 'true') === 'true',
    // PostHog's capture accepts request bodies up to 20 MB.
    maxBodyBytes: readInt(env, 'SLUICE_MAX_BODY_BYTES', 20 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    maxDecodedBytes: readInt(env, 'SLUICE_MAX_DECODED_BYTES', 50 * 1024 * 1024, 1024, 4 * 1024 * 1024 * 1024),
    maxEventsPerRequest: readInt(env, 'SLUICE_MAX_EVENTS_PER_REQUEST', 10_000, 1, 1_000_000),
    rateLimitEventsPerSecond: readNumber(env, 'SLUICE_RATE_LIMIT_EVENTS_PER_SECOND', 0, 0, 10_000_000),
    rateLimitBurst: readInt(env, 'SLUICE_RATE_LIMIT_BURST', 0, 0, 100_000_000),
    personBucketCapacity: readInt(env, 'SLUICE_PERSON_BUCKET_CAPACITY', 1000, 1, 100_000_000),
    personBucketRefillPerSecond: readNumber(env, 'SLUICE_PERSON_BUCKET_REFILL_PER_SECOND', 1, 0.001, 10_000_000),
    orderShards: readInt(env, 'SLUICE_ORDER_SHARDS', 8, 0, 256),
    backpressureWaitingJobs: readInt(env, 'SLUICE_BACKPRESSURE_WAITING_JOBS', 5_000, 0, 10_000_000),
    trustedProxies: readTrustedProxies(env),
    // One thread per core the event loop leaves free, up to 4 (beyond that, run more intakes).
    intakeCheckThreads: readInt(env, 'SLUICE_INTAKE_CHECK_THREADS', Math.min(4, Math.max(1, availableParallelism() - 1)), 0, 64),
    batchWindowMs: readInt(env, 'SLUICE_BATCH_WINDOW_MS', 0, 0, 10_000),
    batchMaxEvents: readInt(env, 'SLUICE_BATCH_MAX_EVENTS', 500, 1, 100_000),
    intakeWriteTimeoutMs: readInt(env, 'SLUICE_INTAKE_WRITE_TIMEOUT_MS', 5_000, 100, 600_000),
    workerConcurrency: readInt(env, 'SLUICE_WORKER_CONCURRENCY', 4, 1, 1000),
    stages: env.SLUICE_STAGES || '*',
    jobLockMs: readInt(env, 'SLUICE_JOB_LOCK_MS', 30_000, 1000, 3_600_000),
    stalledIntervalMs: readInt(env, 'SLUICE_STALLED_INTERVAL_MS', 30_000, 500, 3_600_000),
    appCallTimeoutMs: readInt(env, 'SLUICE_APP_TIMEOUT_MS', 1000, 10, 600_000),
    appJobTimeoutMs: readInt(env, 'SLUICE_APP_JOB_TIMEOUT_MS', 30_000, 10, 3_600_000),
    appHostWaitTimeoutMs: readInt(env, 'SLUICE_APP_WAIT_TIMEOUT_MS', 30_000, 10, 3_600_000),
    appMemoryBytes: readInt(env, 'SLUICE_APP_MEMORY_MB', 64, 4, 4096) * 1024 * 1024,
    deliverConcurrency: readInt(env, 'SLUICE_DELIVER_CONCURRENCY', 64, 1, 10_000),
    retryDelayScale: readNumber(env, 'SLUICE_RETRY_DELAY_SCALE', 1, 0.0001, 100),
    backfillRate: readInt(env, 'SLUICE_BACKFILL_RATE', 1000, 1, 1_000_000),
    trailSample: readNumber(env, 'SLUICE_TRAIL_SAMPLE', 0.01, 0, 1),
    backfillSliceEvents: readInt(env, 'SLUICE_BACKFILL_SLICE_EVENTS', 500, 1, 10_000),
    backfillLeaseMs: readInt(env, 'SLUICE_BACKFILL_LEASE_MS', 10_000, 1000, 600_000),
    scheduleEveryMs: {
      runEveryMinute: readInt(env, 'SLUICE_RUN_EVERY_MINUTE_MS', 60_000, 100, 86_400_000),
      runEveryHour: readInt(env, 'SLUICE_RUN_EVERY_HOUR_MS', 3_600_000, 100, 86_400_000 * 7),
      runEveryDay: readInt(env, 'SLUICE_RUN_EVERY_DAY_MS', 86_400_000, 100, 86_400_000 * 31),
    },
    processEventErrors: readChoice(env, 'SLUICE_PROCESS_EVENT_ERRORS', ['continue', 'drop'] as const, 'continue'),
    fetchAllowPrivate: readFetchAllowPrivate(env),
    fetchCa: readFetchCa(env),
    fetchTimeoutMs: readInt(env, 'SLUICE_FETCH_TIMEOUT_MS', 10_000, 10, 600_000),
    fetchMaxResponseBytes: readInt(env, 'SLUICE_FETCH_MAX_MB', 10, 1, 1024) * 1024 * 1024,
    geoipDatabase: env.SLUICE_GEOIP_DB || undefined,
    appCapturesPerMinute: readInt(env, 'SLUICE_APP_CAPTURES_PER_MINUTE', 60_000, 1, 100_000_000),
  };
}
