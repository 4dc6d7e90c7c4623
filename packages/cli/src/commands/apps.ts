import { parseArgs } from 'node:util';
import { readFile, stat } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { CliError, RawBody, adminRequest, adminStream } from '../admin-client';
import { parseConfig, readPositiveInt } from '../args';
import { printTable } from '../table';

interface LogLine {
  timestamp: string;
  level: string;
  message: string;
}

interface InstanceView {
  id: number;
  appId: number;
  name: string;
  capabilities: string[];
  order: number;
  enabled: boolean;
}

const readInstanceId = (raw: string | undefined, what = 'instance id') => readPositiveInt(raw, what);

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
    if (!rawId || !key || !file) throw new CliError('usage: sluice apps attach <instanceId> <key> <file> [--content-type T] [--project P]');
    const bytes = await readFile(file).catch((error: NodeJS.ErrnoException) => {
      throw new CliError(`${file}: cannot read it (${error.code ?? error.message})`);
    });
    const type = values['content-type'] ?? contentTypeOf(file);
    const path = `/api/projects/${project}/apps/${readInstanceId(rawId)}/attachments/${encodeURIComponent(key)}?fileName=${encodeURIComponent(basename(file))}`;
    const saved = await adminRequest<{ key: string; fileName: string; contentType: string; size: number }>('PUT', path, new RawBody(bytes, type));
    if (values.json) out.write(`${JSON.stringify(saved)}\n`);
    else out.write(`attached ${saved.fileName} (${saved.size} bytes, ${saved.contentType}) as "${saved.key}" of instance ${rawId}; the instance reloads with it\n`);
    return;
  }
  if (verb === 'list') {
    const { results } = await adminRequest<{ results: InstanceView[] }>('GET', `/api/projects/${project}/apps`);
    if (values.json) out.write(`${JSON.stringify(results)}\n`);
    else printInstances(results, out);
    return;
  }
  const instancePath = (raw: string | undefined) => `/api/projects/${project}/apps/${readInstanceId(raw)}`;
  const printInstance = (instance: InstanceView, what: string) =>
    out.write(values.json ? `${JSON.stringify(instance)}\n` : `${what} ${instance.name} (instance ${instance.id}): ${instance.enabled ? 'enabled' : 'disabled'}, order ${instance.order}\n`);
  if (verb === 'config') {
    const config = parseConfig(values.config!);
    if (Object.keys(config).length === 0) throw new CliError('usage: sluice apps config <instanceId> --config key=value … (replaces the whole config)');
    printInstance(await adminRequest<InstanceView>('PATCH', instancePath(positionals[0]), { config }), 'configured');
    return;
  }
  if (verb === 'enable' || verb === 'disable') {
    printInstance(await adminRequest<InstanceView>('PATCH', instancePath(positionals[0]), { enabled: verb === 'enable' }), `${verb}d`);
    return;
  }
  if (verb === 'order') {
    const order = positionals.map((raw) => readInstanceId(raw));
    if (order.length === 0) throw new CliError('usage: sluice apps order <instanceId> <instanceId> … (the whole chain, first to last)');
    const { results } = await adminRequest<{ results: InstanceView[] }>('PUT', `/api/projects/${project}/apps/order`, { order });
    if (values.json) out.write(`${JSON.stringify(results)}\n`);
    else printInstances(results, out);
    return;
  }
  if (verb === 'remove') {
    await adminRequest('DELETE', instancePath(positionals[0]));
    if (!values.json) out.write(`removed instance ${positionals[0]} from project ${values.project}\n`);
    return;
  }
  if (verb === 'logs') {
    const limit = readInstanceId(values.limit, '--limit');
    const query = new URLSearchParams({ limit: String(limit), ...(values.level && { level: values.level }) });
    const print = (line: LogLine) => out.write(values.json ? `${JSON.stringify(line)}\n` : `${line.timestamp} ${line.level.padEnd(5)} ${line.message}\n`);
    if (values.follow) {
      await adminStream(`${instancePath(positionals[0])}/logs?${query}&follow=1`, (line) => print(line as LogLine));
      return;
    }
    const { results } = await adminRequest<{ results: LogLine[] }>('GET', `${instancePath(positionals[0])}/logs?${query}`);
    // Oldest first, like a terminal log.
    for (const line of results.reverse()) print(line);
    return;
  }
  throw new CliError('usage: sluice apps install <dir|archive> | attach <id> <key> <file> | list | config <id> --config k=v … | enable <id> | disable <id> | order <id> … | remove <id> | logs <id> [--limit N] [--level L] [--follow]  [--project P] [--json]');
}
