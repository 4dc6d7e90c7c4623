import { parseArgs } from 'node:util';
import { CliError, adminRequest } from '../admin-client';
import { readPositiveInt } from '../args';
import { resolveInstanceRefs, type InstanceView } from '../instance-ref';
import { progressLine } from '../progress';

interface BackfillView {
  id: number;
  from: string;
  to: string;
  done: number;
  total: number;
  eventsPerSecond: number;
  state: 'running' | 'done' | 'cancelled' | 'failed';
  error: string | null;
}

const USAGE =
  'usage: sluice apps backfill <instance id | app name> --from <ISO time> --to <ISO time> [--events a,b] [--rate N] [--project P] [--no-wait] [--json]';
/** How often progress is asked for; a plain (non-terminal) output gets a line at most every PLAIN_EVERY_MS. */
const POLL_MS = 500;
const PLAIN_EVERY_MS = 2000;

/** Back to the start of the line and clear it: the bar redraws in place, a shorter line leaves nothing behind. */
const REDRAW = '\r\x1b[K';

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/**
 * `sluice apps backfill <app> --from … --to …`: starts a backfill of the instance, then follows it
 * to its end: a progress bar with ETA in a terminal, a plain line every few seconds otherwise, the
 * final backfill as JSON with --json. --no-wait (or --detach) returns once it is started; leaving
 * early (Ctrl-C) does not stop it: the runners drive it, not this command.
 */
export async function backfillCommand(args: string[], out: NodeJS.WritableStream = process.stdout): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      project: { type: 'string', default: 'default' },
      from: { type: 'string' },
      to: { type: 'string' },
      events: { type: 'string' },
      rate: { type: 'string' },
      'no-wait': { type: 'boolean', default: false },
      detach: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  if (!positionals[0] || !values.from || !values.to) throw new CliError(USAGE);
  const project = encodeURIComponent(values.project!);
  const listInstances = async () => (await adminRequest<{ results: InstanceView[] }>('GET', `/api/projects/${project}/apps`)).results;
  const [id] = await resolveInstanceRefs([positionals[0]], values.project!, listInstances);
  const events = values.events?.split(',').map((name) => name.trim()).filter(Boolean);
  const body = {
    from: values.from,
    to: values.to,
    ...(events?.length && { events }),
    ...(values.rate !== undefined && { rate: readPositiveInt(values.rate, '--rate') }),
  };
  const instancePath = `/api/projects/${project}/apps/${id}`;
  let backfill = await adminRequest<BackfillView>('POST', `${instancePath}/backfill`, body);
  const print = (text: string) => out.write(`${text}\n`);
  if (values['no-wait'] || values.detach) {
    print(values.json ? JSON.stringify(backfill) : `started backfill ${backfill.id} of instance ${id}: ${backfill.total} events from ${backfill.from} to ${backfill.to}`);
    return;
  }
  const tty = Boolean((out as NodeJS.WriteStream).isTTY) && !values.json;
  if (!values.json) print(`backfill ${backfill.id} of instance ${id}: ${backfill.total} events from ${backfill.from} to ${backfill.to}`);
  let lastPlain = 0;
  while (backfill.state === 'running') {
    if (tty) out.write(`${REDRAW}${progressLine(backfill, { bar: true })}`);
    else if (!values.json && Date.now() - lastPlain >= PLAIN_EVERY_MS) {
      print(progressLine(backfill, { bar: false }));
      lastPlain = Date.now();
    }
    await sleep(POLL_MS);
    const { results } = await adminRequest<{ results: BackfillView[] }>('GET', `${instancePath}/backfills`);
    const current = results.find((item) => item.id === backfill.id);
    if (!current) throw new CliError(`backfill ${backfill.id} is gone (its instance was removed?)`);
    backfill = current;
  }
  if (values.json) print(JSON.stringify(backfill));
  else {
    if (tty) out.write(`${REDRAW}${progressLine(backfill, { bar: true })}\n`);
    print(`backfill ${backfill.id} ${backfill.state}: ${backfill.done}/${backfill.total} events${backfill.error ? ` (${backfill.error})` : ''}`);
  }
  if (backfill.state === 'failed') throw new CliError(`backfill ${backfill.id} failed: ${backfill.error ?? 'unknown error'}`);
}
