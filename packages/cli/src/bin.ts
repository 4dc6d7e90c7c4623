#!/usr/bin/env -S node --max-semi-space-size=32 --enable-source-maps
// The services' node flags live in this line, the one place they are set (the built bin.js keeps it;
// test/helpers/services.ts reads it). Why a large young generation: see SERVICE_NODE_FLAGS there.
import { UsageError } from './usage-error';

const USAGE = `usage: sluice <command>
  start                 intake + stage workers + runner in one process (embedded store unless DATABASE_URL)
  intake | admin | worker | runner
                        one service alone (needs DATABASE_URL); intake serves capture and the
                        admin API on one port (SLUICE_INTAKE_ADMIN=false: capture only), admin the admin API
  apps install <dir>|<app.zip|app.tgz> [--project P] [--config key=value …] [--order N] [--json]
  apps attach <app> <key> <file> [--content-type T]
                        upload the file of an attachment config field (meta.attachments[key])
  apps list | config <app> --config k=v … | enable <app> | disable <app> | order <app> … | remove <app> | logs <app> [--limit N] [--level L] [--follow]
                        [--project P] [--json]; <app> is an instance id or an app name (unambiguous in the project)
  apps backfill <app> --from <ISO time> --to <ISO time> [--events a,b] [--rate N] [--no-wait] [--project P] [--json]
                        send the stored events of [from, to) to a destination instance, with a progress bar
  projects create <name> [--id ID] [--json] | projects list [--json] | projects token <id>
  events tail [--project P] [--event NAME] [--distinct-id ID] [--json]
  status [--json]       the running processes (role, host, metrics URL, version, uptime) and queue depths
  new app <dir> [--ts] [--name "App name"]
                        scaffold an app: plugin.json, index, a test, a README
  dev <app-dir> (--events file.jsonl | --from-project P [--last N]) [--config key=value …] [--attach key=file …] [--json]
                        run an app locally in the sandbox and show what it does to each event
  dead-letters list [--project P] [--instance ID] [--limit N] [--json]
  dead-letters replay [--project P] [--instance ID] [--id ID …] [--json]
Configuration comes from environment variables; see the README.`;

type Command = (args: string[]) => Promise<void>;

/**
 * Each command loads its module when it runs: `sluice apps list` is one HTTP call and should not
 * pay for loading the sandbox, BullMQ and fastify (it starts in ~0.1 s instead of ~0.3 s).
 */
const COMMANDS: Record<string, () => Promise<Command>> = {
  apps: async () => (await import('./commands/apps')).appsCommand,
  'dead-letters': async () => (await import('./commands/dead-letters')).deadLettersCommand,
  projects: async () => (await import('./commands/projects')).projectsCommand,
  events: async () => (await import('./commands/events')).eventsCommand,
  dev: async () => (await import('./commands/dev')).devCommand,
  new: async () => (await import('./commands/new-app')).newCommand,
  status: async () => (await import('./commands/status')).statusCommand,
};

const SERVICES: Record<string, Array<'intake' | 'admin' | 'worker' | 'runner'>> = {
  start: ['intake', 'worker', 'runner'],
  intake: ['intake'],
  admin: ['admin'],
  worker: ['worker'],
  runner: ['runner'],
};

async function main(argv: string[]): Promise<void> {
  const [command, ...args] = argv;
  const roles = command ? SERVICES[command] : undefined;
  if (roles) {
    const [{ loadConfig }, { serve }] = await Promise.all([import('@sluice/core'), import('./commands/serve')]);
    return serve(loadConfig(), roles, { startRedis: command === 'start' });
  }
  const load = command ? COMMANDS[command] : undefined;
  if (load) return (await load())(args);
  throw new UsageError(command && command !== 'help' && command !== '--help' ? `unknown command "${command}"\n${USAGE}` : USAGE);
}

/**
 * Errors a user can act on: one line, exit 2. Matched by name, so that reporting one does not
 * load the modules that define them (core's config, the queues package).
 */
const KNOWN_ERRORS = new Set(['ConfigError', 'CliError', 'UsageError', 'RedisUnavailableError', 'PortInUseError']);

function isKnown(error: unknown): error is Error {
  return error instanceof Error && KNOWN_ERRORS.has(error.name);
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (error: unknown) => {
    // Expected failures get one clear line; anything else keeps its stack for a bug report.
    const known = isKnown(error);
    process.stderr.write(`sluice: ${known ? error.message : ((error as Error).stack ?? String(error))}\n`);
    process.exit(known ? 2 : 1);
  },
);
