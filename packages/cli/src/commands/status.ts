import { parseArgs } from 'node:util';
import { adminRequest } from '../admin-client';
import { printTable } from '../table';

interface StatusView {
  processes: Array<{ id: string; role: string; host: string; pid: number; metricsUrl: string; version: string; startedAt: string; seenAt: string }>;
  queues: Array<{ queue: string; app?: string; waiting: number; active: number; delayed: number; failed: number }>;
}

/** "3h 12m", "41s": how long a process has run, in its two largest units. */
function uptime(startedAt: string, now = Date.now()): string {
  const total = Math.max(0, Math.round((now - Date.parse(startedAt)) / 1000));
  const [days, hours, minutes, seconds] = [Math.floor(total / 86_400), Math.floor((total % 86_400) / 3600), Math.floor((total % 3600) / 60), total % 60];
  if (days) return `${days}d ${hours}h`;
  if (hours) return `${hours}h ${minutes}m`;
  return minutes ? `${minutes}m ${seconds}s` : `${seconds}s`;
}

/** `sluice status [--json]`: the running processes (from their Redis registrations) and every queue's depth. */
export async function statusCommand(args: string[], out: NodeJS.WritableStream = process.stdout): Promise<void> {
  const { values } = parseArgs({ args, options: { json: { type: 'boolean', default: false } } });
  const status = await adminRequest<StatusView>('GET', '/api/status');
  if (values.json) {
    out.write(`${JSON.stringify(status)}\n`);
    return;
  }
  out.write(`processes (${status.processes.length})\n`);
  printTable(
    ['ROLE', 'HOST', 'PID', 'METRICS', 'VERSION', 'UP'],
    status.processes.map((p) => [p.role, p.host, String(p.pid), p.metricsUrl, p.version, uptime(p.startedAt)]),
    out,
  );
  out.write(`\nqueues (${status.queues.length})\n`);
  printTable(
    ['QUEUE', 'APP', 'WAITING', 'ACTIVE', 'DELAYED', 'FAILED'],
    status.queues.map((q) => [q.queue, q.app ?? '', String(q.waiting), String(q.active), String(q.delayed), String(q.failed)]),
    out,
  );
}
