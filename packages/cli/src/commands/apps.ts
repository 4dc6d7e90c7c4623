import { parseArgs } from 'node:util';
import { readFile, stat } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { CliError, RawBody, adminRequest, adminStream } from '../admin-client';
import { parseConfig, readPositiveInt } from '../args';
import { resolveInstanceRefs, type InstanceView } from '../instance-ref';
import { printTable } from '../table';

interface LogLine {
  timestamp: string;
  level: string;
  message: string;
}

const INSTANCE = '<instance id | app name>';

const ARCHIVE_TYPES: Array<[RegExp, string]> = [[/\.zip$/i, 'application/zip'], [/\.(tgz|tar\.gz)$/i, 'application/gzip'], [/\.tar$/i, 'application/x-tar']];

/** An app archive (.zip, .tgz, .tar.gz, .tar) as a raw body; undefined for anything else (a folder). */
async function readArchive(path: string): Promise<RawBody | undefined> {
  const type = ARCHIVE_TYPES.find(([pattern]) => pattern.test(path))?.[1];
  const info = await stat(path).catch(() => undefined);
  if (!type || !info?.isFile()) return undefined;
  return new RawBody(await readFile(path), type);
}

/** A file's Content-Type from its extension (for `apps attach`; --content-type overrides it). */
export function contentTypeOf(file: string): string {
  const types: Record<string, string> = {
    '.csv': 'text/csv', '.txt': 'text/plain', '.json': 'application/json', '.pem': 'application/x-pem-file', '.key': 'application/x-pem-file',
    '.xml': 'application/xml', '.yaml': 'application/yaml', '.yml': 'application/yaml', '.html': 'text/html', '.md': 'text/markdown',
  };
  return types[extname(file).toLowerCase()] ?? 'application/octet-stream';
}


function printInstances(instances: InstanceView[], out: NodeJS.WritableStream): void {
  const rows = instances.map((i) => [String(i.id), String(i.order), i.name, i.enabled ? 'yes' : 'no', i.capabilities.join(',')]);
  printTable(['ID', 'ORDER', 'NAME', 'ENABLED', 'CAPABILITIES'], rows, out);
}

/** `sluice apps install <dir|archive> [--project P] [--config k=v …] [--order N] [--json]`, `sluice apps attach`, `list`, … */
export async function appsCommand(args: string[], out: NodeJS.WritableStream = process.stdout): Promise<void> {
  const [verb, ...rest] = args;
  // Its own options (--from, --to, --rate…) and its own module.
  if (verb === 'backfill') return (await import('./backfill')).backfillCommand(rest, out);
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      project: { type: 'string', default: 'default' },
      config: { type: 'string', multiple: true, default: [] },
      order: { type: 'string' },
      limit: { type: 'string', default: '100' },
      level: { type: 'string' },
      follow: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      'content-type': { type: 'string' },
    },
  });
  const project = encodeURIComponent(values.project!);
  const listInstances = async () => (await adminRequest<{ results: InstanceView[] }>('GET', `/api/projects/${project}/apps`)).results;
  const instancePath = (id: number) => `/api/projects/${project}/apps/${id}`;
  /** The instance a command's first argument names: an id, or an app name unambiguous in the project. */
  const instanceId = async (usage: string) => {
    if (!positionals[0]) throw new CliError(`usage: ${usage}`);
    return (await resolveInstanceRefs([positionals[0]], values.project!, listInstances))[0]!;
  };
  if (verb === 'install') {
    const dir = positionals[0];
    if (!dir) throw new CliError('usage: sluice apps install <dir|archive.zip|archive.tgz> [--project P] [--config key=value …] [--order N]');
    const order = values.order === undefined ? undefined : Number(values.order);
    if (order !== undefined && !Number.isInteger(order)) throw new CliError(`--order "${values.order}": expected an integer`);
    const config = parseConfig(values.config!);
    const archive = await readArchive(dir);
    let instance: InstanceView & { missingAttachments?: string[] };
    if (archive) {
      // The server unpacks it (the same checks for every client); config and order go in the query.
      const query = new URLSearchParams(Object.entries(config).map(([key, value]): [string, string] => [`config.${key}`, value]));
      if (order !== undefined) query.set('order', String(order));
      instance = await adminRequest('POST', `/api/projects/${project}/apps${query.size ? `?${query}` : ''}`, archive);
    } else {
      // Loaded here: reading a folder needs the sandbox's app reader, which other verbs do not.
      const { readAppDir } = await import('../read-app-dir');
      instance = await adminRequest('POST', `/api/projects/${project}/apps`, { source: await readAppDir(dir), config, ...(order !== undefined && { order }) });
    }
    if (values.json) out.write(`${JSON.stringify(instance)}\n`);
    else {
      out.write(`installed ${instance.name} as instance ${instance.id} of project ${values.project} (order ${instance.order}; ${instance.capabilities.join(', ')})\n`);
      for (const key of instance.missingAttachments ?? []) {
        out.write(`  disabled until its attachment "${key}" is uploaded: sluice apps attach ${instance.id} ${key} <file> --project ${values.project}, then sluice apps enable ${instance.id}\n`);
      }
    }
    return;
  }
  if (verb === 'attach') {
    const [rawId, key, file] = positionals;
    const usage = `sluice apps attach ${INSTANCE} <key> <file> [--content-type T] [--project P]`;
    if (!rawId || !key || !file) throw new CliError(`usage: ${usage}`);
    const bytes = await readFile(file).catch((error: NodeJS.ErrnoException) => {
      throw new CliError(`${file}: cannot read it (${error.code ?? error.message})`);
    });
    const type = values['content-type'] ?? contentTypeOf(file);
    const id = await instanceId(usage);
    const path = `${instancePath(id)}/attachments/${encodeURIComponent(key)}?fileName=${encodeURIComponent(basename(file))}`;
    const saved = await adminRequest<{ key: string; fileName: string; contentType: string; size: number }>('PUT', path, new RawBody(bytes, type));
    if (values.json) out.write(`${JSON.stringify(saved)}\n`);
    else out.write(`attached ${saved.fileName} (${saved.size} bytes, ${saved.contentType}) as "${saved.key}" of instance ${id}; the instance reloads with it\n`);
    return;
  }
  if (verb === 'list') {
    const results = await listInstances();
    if (values.json) out.write(`${JSON.stringify(results)}\n`);
    else printInstances(results, out);
    return;
  }
  const printInstance = (instance: InstanceView, what: string) =>
    out.write(values.json ? `${JSON.stringify(instance)}\n` : `${what} ${instance.name} (instance ${instance.id}): ${instance.enabled ? 'enabled' : 'disabled'}, order ${instance.order}\n`);
  if (verb === 'config') {
    const config = parseConfig(values.config!);
    const usage = `sluice apps config ${INSTANCE} --config key=value … (replaces the whole config)`;
    if (Object.keys(config).length === 0) throw new CliError(`usage: ${usage}`);
    printInstance(await adminRequest<InstanceView>('PATCH', instancePath(await instanceId(usage)), { config }), 'configured');
    return;
  }
  if (verb === 'enable' || verb === 'disable') {
    const id = await instanceId(`sluice apps ${verb} ${INSTANCE}`);
    printInstance(await adminRequest<InstanceView>('PATCH', instancePath(id), { enabled: verb === 'enable' }), `${verb}d`);
    return;
  }
  if (verb === 'order') {
    if (positionals.length === 0) throw new CliError(`usage: sluice apps order ${INSTANCE} ${INSTANCE} … (the whole chain, first to last)`);
    const order = await resolveInstanceRefs(positionals, values.project!, listInstances);
    const { results } = await adminRequest<{ results: InstanceView[] }>('PUT', `/api/projects/${project}/apps/order`, { order });
    if (values.json) out.write(`${JSON.stringify(results)}\n`);
    else printInstances(results, out);
    return;
  }
  if (verb === 'remove') {
    const id = await instanceId(`sluice apps remove ${INSTANCE}`);
    await adminRequest('DELETE', instancePath(id));
    if (!values.json) out.write(`removed instance ${id} from project ${values.project}\n`);
    return;
  }
  if (verb === 'logs') {
    const limit = readPositiveInt(values.limit, '--limit');
    const path = instancePath(await instanceId(`sluice apps logs ${INSTANCE} [--limit N] [--level L] [--follow]`));
    const query = new URLSearchParams({ limit: String(limit), ...(values.level && { level: values.level }) });
    const print = (line: LogLine) => out.write(values.json ? `${JSON.stringify(line)}\n` : `${line.timestamp} ${line.level.padEnd(5)} ${line.message}\n`);
    if (values.follow) {
      await adminStream(`${path}/logs?${query}&follow=1`, (line) => print(line as LogLine));
      return;
    }
    const { results } = await adminRequest<{ results: LogLine[] }>('GET', `${path}/logs?${query}`);
    // Oldest first, like a terminal log.
    for (const line of results.reverse()) print(line);
    return;
  }
  throw new CliError('usage: sluice apps install <dir|archive> | attach <id|name> <key> <file> | list | config <id|name> --config k=v … | enable <id|name> | disable <id|name> | order <id|name> … | remove <id|name> | logs <id|name> [--limit N] [--level L] [--follow] | backfill <id|name> --from T --to T [--events a,b] [--rate N] [--no-wait]  [--project P] [--json]');
}
