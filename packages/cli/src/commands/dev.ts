import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { recordingVm } from '@sluice/app-sdk';
import { eventDiff, eventNormalizer, type PluginEvent, type RawEvent } from '@sluice/core';
import { AppSourceError, applyConfigDefaults, attachmentFile, compileApp, optionalModulesWarning, type AppAttachmentFile } from '@sluice/sandbox';
import { CliError, adminRequest } from '../admin-client';
import { parseConfig } from '../args';
import { readAppDir } from '../read-app-dir';
import { contentTypeOf } from './apps';

const USAGE = 'usage: sluice dev <app-dir> (--events file.jsonl | --from-project P [--last N]) [--config key=value …] [--attach key=file …] [--json]';

/** Events from a file: JSON lines, or one JSON array. */
async function eventsFromFile(path: string): Promise<RawEvent[]> {
  const text = await readFile(path, 'utf8').catch(() => {
    throw new CliError(`${path}: cannot read the events file`);
  });
  const trimmed = text.trim();
  try {
    if (trimmed.startsWith('[')) return JSON.parse(trimmed) as RawEvent[];
    return trimmed.split('\n').filter((line) => line.trim()).map((line) => JSON.parse(line) as RawEvent);
  } catch (error) {
    throw new CliError(`${path}: not JSON lines or a JSON array of events (${(error as Error).message})`);
  }
}

/**
 * `sluice dev`: runs an app in the same QuickJS sandbox as the pipeline, locally and without
 * Redis, against events from a file or the last events stored in a project, and prints what it did
 * to each event (the diff, a drop, an error), its logs, limit hits, and the jobs it enqueued.
 */
export async function devCommand(args: string[], out: NodeJS.WritableStream = process.stdout): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      events: { type: 'string' },
      'from-project': { type: 'string' },
      last: { type: 'string', default: '100' },
      config: { type: 'string', multiple: true, default: [] },
      attach: { type: 'string', multiple: true, default: [] },
      json: { type: 'boolean', default: false },
    },
  });
  const dir = positionals[0];
  if (!dir || (!values.events && !values['from-project'])) throw new CliError(USAGE);

  let compiled;
  try {
    compiled = await compileApp(await readAppDir(dir));
  } catch (error) {
    if (error instanceof AppSourceError) throw new CliError(`${dir}/${error.message}`);
    throw error;
  }
  let config: Record<string, string>;
  try {
    config = applyConfigDefaults(compiled.pluginJson, parseConfig(values.config!));
  } catch (error) {
    if (error instanceof AppSourceError) throw new CliError(`${dir}/${error.message} (give it with --config ${error.field ?? 'key'}=…)`);
    throw error;
  }

  const raw = values.events
    ? await eventsFromFile(values.events)
    : (await adminRequest<{ results: RawEvent[] }>('GET', `/api/projects/${encodeURIComponent(values['from-project']!)}/events?limit=${Number(values.last)}`)).results.reverse();
  const normalize = eventNormalizer({ teamId: 1, ip: null, now: new Date(), sentAt: undefined });
  const events: PluginEvent[] = raw.map((event, index) => normalize(structuredClone(event), index));

  // `--attach key=file`: meta.attachments as an uploaded file would give it.
  const attachments: Record<string, AppAttachmentFile> = {};
  for (const pair of values.attach!) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new CliError(`--attach "${pair}": expected key=file`);
    const [key, file] = [pair.slice(0, at), pair.slice(at + 1)];
    const contents = await readFile(file).catch((error: NodeJS.ErrnoException) => {
      throw new CliError(`--attach ${key}=${file}: cannot read it (${error.code ?? error.message})`);
    });
    attachments[key] = attachmentFile({ contentType: contentTypeOf(file), fileName: basename(file), contents });
  }
  const { vm, logs, jobs } = await recordingVm(compiled, config, { attachments });
  const emit = (record: Record<string, unknown>, text: string) => out.write(values.json ? `${JSON.stringify(record)}\n` : `${text}\n`);
  const flushLogs = () => {
    for (const entry of logs.splice(0)) emit({ type: 'log', ...entry }, `  log ${entry.level}: ${entry.message}`);
    for (const job of jobs.splice(0)) emit({ type: 'job', ...job }, `  job ${job.name} enqueued for ${new Date(job.runAt).toISOString()} with ${JSON.stringify(job.payload)}`);
  };
  const counts = { changed: 0, unchanged: 0, dropped: 0, errors: 0 };
  // As install warns in the instance's logs: optional requires the sandbox cannot answer.
  const optionalWarning = optionalModulesWarning(compiled.optionalModules);
  if (optionalWarning) logs.push({ timestamp: new Date().toISOString(), level: 'warn', message: optionalWarning });
  try {
    await vm.setup();
    flushLogs();
    const outcomes = vm.capabilities.includes('processEvent') || vm.capabilities.includes('processEventBatch')
      ? await vm.processEventBatch(events.map((event) => structuredClone(event)))
      : events.map((event) => ({ status: 'ok' as const, event }));
    for (const [index, outcome] of outcomes.entries()) {
      const before = events[index]!;
      const label = `${before.event} ${before.uuid}`;
      if (outcome.status === 'dropped') {
        counts.dropped += 1;
        emit({ type: 'event', index, uuid: before.uuid, outcome: 'dropped' }, `✗ ${label}: dropped`);
      } else if (outcome.status === 'error') {
        counts.errors += 1;
        emit({ type: 'event', index, uuid: before.uuid, outcome: 'error', error: outcome.error }, `! ${label}: ${outcome.error} (the event goes on unchanged)`);
      } else {
        const diff = eventDiff(before, outcome.event);
        counts[diff.length ? 'changed' : 'unchanged'] += 1;
        emit({ type: 'event', index, uuid: before.uuid, outcome: 'ok', diff }, `${diff.length ? '~' : '='} ${label}${diff.length ? '' : ': unchanged'}${diff.map((line) => `\n    ${line}`).join('')}`);
        if (vm.capabilities.includes('onEvent')) {
          const delivered = await vm.onEvent(outcome.event);
          if (!delivered.ok) emit({ type: 'onEvent', index, ...delivered }, `  onEvent ${delivered.retry ? 'asked for a retry' : 'failed'}: ${delivered.error}`);
        }
      }
      flushLogs();
    }
    emit({ type: 'summary', events: events.length, ...counts },
      `${events.length} events: ${counts.changed} changed, ${counts.unchanged} unchanged, ${counts.dropped} dropped, ${counts.errors} errors`);
  } finally {
    flushLogs();
    await vm.teardown().catch(() => vm.dispose());
  }
}
