import { parseArgs } from 'node:util';
import { CliError, adminRequest } from '../admin-client';
import { readPositiveInt } from '../args';
import { printTable } from '../table';

interface DeadLetterView {
  id: number;
  instanceId: number;
  function: string;
  event: { event: string; uuid: string; distinct_id: string };
  error: string;
  attempts: number;
  failedAt: string;
}

const USAGE = 'usage: sluice dead-letters list [--project P] [--instance ID] [--limit N] [--json]\n       sluice dead-letters replay [--project P] [--instance ID] [--id ID …] [--json]';
/** Replay goes in slices so progress can be shown and a huge backlog does not hold one request open. */
const REPLAY_SLICE = 1000;

function readId(raw: string | undefined, flag: string): number | undefined {
  return raw === undefined ? undefined : readPositiveInt(raw, flag);
}

/** `sluice dead-letters list|replay`: events destinations could not take, shown and sent again. */
export async function deadLettersCommand(args: string[], out: NodeJS.WritableStream = process.stdout): Promise<void> {
  const [verb, ...rest] = args;
  const { values } = parseArgs({
    args: rest,
    options: {
      project: { type: 'string', default: 'default' },
      instance: { type: 'string' },
      id: { type: 'string', multiple: true, default: [] },
      limit: { type: 'string', default: '100' },
      json: { type: 'boolean', default: false },
    },
  });
  const project = encodeURIComponent(values.project!);
  const instanceId = readId(values.instance, '--instance');
  if (verb === 'list') {
    const limit = readId(values.limit, '--limit')!;
    const query = new URLSearchParams({ limit: String(limit), ...(instanceId !== undefined && { instance: String(instanceId) }) });
    const { results, total } = await adminRequest<{ results: DeadLetterView[]; total: number }>('GET', `/api/projects/${project}/dead-letters?${query}`);
    if (values.json) {
      out.write(`${JSON.stringify({ results, total })}\n`);
      return;
    }
    const rows = results.map((letter) => [
      String(letter.id), String(letter.instanceId), letter.function, letter.event.event, letter.event.uuid,
      String(letter.attempts), letter.failedAt, letter.error.length > 60 ? `${letter.error.slice(0, 59)}…` : letter.error,
    ]);
    printTable(['ID', 'INSTANCE', 'FUNCTION', 'EVENT', 'UUID', 'ATTEMPTS', 'FAILED AT', 'ERROR'], rows, out);
    out.write(`${results.length} of ${total} dead letter(s)\n`);
    return;
  }
  if (verb === 'replay') {
    const ids = values.id!.map((raw) => readId(raw, '--id')!);
    const selection = { ...(instanceId !== undefined && { instanceId }), ...(ids.length && { ids }) };
    let replayed = 0;
    for (;;) {
      const step = await adminRequest<{ replayed: number; remaining: number }>('POST', `/api/projects/${project}/dead-letters/replay`, { ...selection, limit: REPLAY_SLICE });
      replayed += step.replayed;
      if (!values.json) out.write(`replayed ${replayed} of ${replayed + step.remaining}\n`);
      if (step.replayed === 0 || step.remaining === 0) {
        if (values.json) out.write(`${JSON.stringify({ replayed, remaining: step.remaining })}\n`);
        return;
      }
    }
  }
  throw new CliError(USAGE);
}
