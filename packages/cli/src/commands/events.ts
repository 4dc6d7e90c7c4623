import { parseArgs } from 'node:util';
import { CliError, adminRequest } from '../admin-client';

interface EventView {
  uuid: string;
  event: string;
  distinct_id: string;
  timestamp: string;
  properties: Record<string, unknown>;
}

const USAGE = 'usage: sluice events tail [--project P] [--event NAME] [--distinct-id ID] [--json]';
const POLL_MS = 1000;
/** Uuids remembered to print each event once; old ones are forgotten past this many. */
const REMEMBERED = 10_000;

/**
 * `sluice events tail`: prints the project's stored events as they arrive (newest pages polled
 * every second, each event printed once), until interrupted.
 */
export async function eventsCommand(args: string[], out: NodeJS.WritableStream = process.stdout): Promise<void> {
  const [verb, ...rest] = args;
  const { values } = parseArgs({
    args: rest,
    options: {
      project: { type: 'string', default: 'default' },
      event: { type: 'string' },
      'distinct-id': { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  if (verb !== 'tail') throw new CliError(USAGE);
  const query = new URLSearchParams({
    limit: '100',
    ...(values.event && { event: values.event }),
    ...(values['distinct-id'] && { distinct_id: values['distinct-id'] }),
  });
  const path = `/api/projects/${encodeURIComponent(values.project!)}/events?${query}`;
  const seen = new Set<string>();
  let first = true;
  for (;;) {
    const { results } = await adminRequest<{ results: EventView[] }>('GET', path);
    // The first page shows a little context; later ones only what is new, oldest first.
    const fresh = results.filter((event) => !seen.has(event.uuid)).slice(0, first ? 10 : undefined).reverse();
    for (const event of results) seen.add(event.uuid);
    if (seen.size > REMEMBERED) for (const uuid of [...seen].slice(0, seen.size - REMEMBERED)) seen.delete(uuid);
    for (const event of fresh) {
      out.write(values.json ? `${JSON.stringify(event)}\n` : `${event.timestamp}  ${event.event.padEnd(20)}  ${event.distinct_id}  ${event.uuid}\n`);
    }
    first = false;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
