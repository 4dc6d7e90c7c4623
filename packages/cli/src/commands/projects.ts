import { parseArgs } from 'node:util';
import { CliError, adminRequest } from '../admin-client';
import { printTable } from '../table';

interface ProjectView {
  id: string;
  name: string;
  token: string;
  /** The number apps see as `team_id`. */
  teamId: number;
  anonymizeIps: boolean;
}

const USAGE = 'usage: sluice projects create <name> [--id ID] [--json] | sluice projects list [--json] | sluice projects token <id>';

/** `sluice projects create|list|token`. */
export async function projectsCommand(args: string[], out: NodeJS.WritableStream = process.stdout): Promise<void> {
  const [verb, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { id: { type: 'string' }, json: { type: 'boolean', default: false } },
  });
  if (verb === 'create') {
    const name = positionals.join(' ').trim();
    if (!name) throw new CliError(USAGE);
    const project = await adminRequest<ProjectView>('POST', '/api/projects', { name, ...(values.id !== undefined && { id: values.id }) });
    if (values.json) out.write(`${JSON.stringify(project)}\n`);
    else out.write(`created project ${project.id} ("${project.name}"); send events with api_key ${project.token}\n`);
    return;
  }
  if (verb === 'token') {
    // The token alone, for scripts: `curl … -d '{"api_key":"'"$(sluice projects token default)"'", …}'`.
    const [id] = positionals;
    if (!id || positionals.length > 1) throw new CliError(USAGE);
    const project = (await listProjects()).find((p) => p.id === id);
    if (!project) throw new CliError(`no project "${id}" (sluice projects list shows them)`);
    out.write(`${project.token}\n`);
    return;
  }
  if (verb === 'list') {
    const results = await listProjects();
    if (values.json) out.write(`${JSON.stringify(results)}\n`);
    else printTable(['ID', 'NAME', 'TOKEN', 'TEAM ID', 'ANONYMIZE IPS'], results.map((p) => [p.id, p.name, p.token, String(p.teamId), p.anonymizeIps ? 'yes' : 'no']), out);
    return;
  }
  throw new CliError(USAGE);
}

async function listProjects(): Promise<ProjectView[]> {
  return (await adminRequest<{ results: ProjectView[] }>('GET', '/api/projects')).results;
}
