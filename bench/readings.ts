/**
 * What the benches read beside their own figures: CPU and memory used by a process, CPU used by
 * the whole machine and by Redis, Redis's memory (Linux /proc and Redis INFO; undefined where they
 * cannot be read), and sums of a service's Prometheus metrics.
 */
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { REDIS_URL } from '../test/helpers/services';

/** CPU seconds a process has used (Linux /proc; utime + stime at 100 ticks/s), undefined elsewhere. */
export function processCpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/** A process's resident memory now and its peak (VmRSS, VmHWM of Linux /proc/<pid>/status), bytes; undefined elsewhere. */
export function processMemoryBytes(pid: number | undefined): { rss: number; peak: number } | undefined {
  if (pid === undefined) return undefined;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (field: string) => Number(status.match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'))?.[1] ?? NaN) * 1024;
    return { rss: kib('VmRSS'), peak: kib('VmHWM') };
  } catch {
    return undefined;
  }
}

/** CPU seconds the whole machine has been busy (Linux /proc/stat: all but idle and iowait), undefined elsewhere. */
export function machineBusySeconds(): number | undefined {
  try {
    const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).map(Number);
    return (ticks.slice(0, 8).reduce((sum, value) => sum + value, 0) - ticks[3]! - ticks[4]!) / 100;
  } catch {
    return undefined;
  }
}

/**
 * Redis's INFO fields (over a bare socket: one short connection, nothing to set up or close),
 * empty when Redis needs a password or does not answer.
 */
export function redisInfo(): Promise<Record<string, string>> {
  const url = new URL(REDIS_URL);
  if (url.password || url.protocol !== 'redis:') return Promise.resolve({});
  return new Promise((resolve) => {
    const socket = connect(Number(url.port || 6379), url.hostname);
    let reply = '';
    const finish = (fields: Record<string, string>) => {
      socket.destroy();
      resolve(fields);
    };
    socket.setTimeout(2000, () => finish({}));
    socket.on('error', () => finish({}));
    socket.on('connect', () => socket.write('INFO\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk;
      // A bulk string: $<length>\r\n<text>\r\n
      const header = reply.indexOf('\r\n');
      if (header < 0 || reply.length < header + 2 + Number(reply.slice(1, header))) return;
      finish(Object.fromEntries(reply.slice(header + 2).split('\r\n').filter((line) => line.includes(':')).map((line) => line.split(':', 2) as [string, string])));
    });
  });
}

/** CPU seconds Redis has used, from its own INFO. */
export async function redisCpuSeconds(): Promise<number | undefined> {
  const info = await redisInfo();
  return info.used_cpu_user === undefined ? undefined : Number(info.used_cpu_user) + Number(info.used_cpu_sys);
}

// The sum of a metric's samples is the tests' helper too.
export { metricSum } from '../test/helpers/api';

/**
 * Samples Redis's used_memory every `everyMs` until stopped: the peak and every sample (ms since
 * the epoch, bytes). A sample is taken at once, so a short run still has one.
 */
export function sampleRedisMemory(everyMs = 500): { stop(): Promise<{ peak: number; samples: Array<[number, number]> }> } {
  const samples: Array<[number, number]> = [];
  const take = async () => {
    const bytes = Number((await redisInfo()).used_memory ?? NaN);
    if (!Number.isNaN(bytes)) samples.push([Date.now(), bytes]);
  };
  let pending = take();
  const timer = setInterval(() => (pending = pending.then(take)), everyMs);
  return {
    stop: async () => {
      clearInterval(timer);
      await pending;
      await take();
      return { peak: samples.length ? Math.max(...samples.map(([, bytes]) => bytes)) : NaN, samples };
    },
  };
}
