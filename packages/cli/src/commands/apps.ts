import { parseArgs } from 'node:util';
import { CliError, adminRequest } from '../admin-client';
import { readAppDir } from '../read-app-dir';
import { printTable } from '../table';

interface InstanceView {
  id: number;
  appId: number;
  name: string;
  capabilities: string[];
  order: number;
  enabled: boolean;
}

function parseConfig(pairs: string[]): Record<string, string> {
  const config: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new CliError(`--config "${pair}": expected key=value`);
    config[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return config;
}

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
  throw new CliError('usage: sluice apps install <dir> | sluice apps list  [--project P] [--json]');
}
