import { parseArgs } from 'node:util';
import { CliError, adminRequest, adminStream } from '../admin-client';
import { readAppDir } from '../read-app-dir';
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


function printInstances(instances: InstanceView[], out: NodeJS.WritableStream): void {
  const rows = instances.map((i) => [String(i.id), String(i.order), i.name, i.enabled ? 'yes' : 'no', i.capabilities.join(',')]);
  printTable(['ID', 'ORDER', 'NAME', 'ENABLED', 'CAPABILITIES'], rows, out);
}

/** `sluice apps install <dir> [--project P] [--config k=v …] [--order N] [--json]` and `sluice apps list`. */
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
    },
  });
  const project = encodeURIComponent(values.project!);
  if (verb === 'install') {
    const dir = positionals[0];
    if (!dir) throw new CliError('usage: sluice apps install <dir> [--project P] [--config key=value …] [--order N]');
    const order = values.order === undefined ? undefined : Number(values.order);
    if (order !== undefined && !Number.isInteger(order)) throw new CliError(`--order "${values.order}": expected an integer`);
    const body = { source: await readAppDir(dir), config: parseConfig(values.config!), ...(order !== undefined && { order }) };
    const instance = await adminRequest<InstanceView>('POST', `/api/projects/${project}/apps`, body);
    if (values.json) out.write(`${JSON.stringify(instance)}\n`);
    else out.write(`installed ${instance.name} as instance ${instance.id} of project ${values.project} (order ${instance.order}; ${instance.capabilities.join(', ')})\n`);
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
  throw new CliError('usage: sluice apps install <dir> | list | config <id> --config k=v … | enable <id> | disable <id> | order <id> … | remove <id> | logs <id> [--limit N] [--level L] [--follow]  [--project P] [--json]');
}
