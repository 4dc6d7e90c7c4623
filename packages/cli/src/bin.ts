#!/usr/bin/env node
import { ConfigError, loadConfig } from '@sluice/core';
import { RedisUnavailableError } from '@sluice/queues';
import { CliError } from './admin-client';
import { appsCommand } from './commands/apps';
import { deadLettersCommand } from './commands/dead-letters';
import { devCommand } from './commands/dev';
import { eventsCommand } from './commands/events';
import { newCommand } from './commands/new-app';
import { projectsCommand } from './commands/projects';
import { UsageError, serve, type Role } from './commands/serve';

const USAGE = `usage: sluice <command>
  start                 intake + stage workers + runner in one process (embedded store unless DATABASE_URL)
  intake | worker | runner
                        one service alone (needs DATABASE_URL)
  apps install <dir>|<app.zip|app.tgz> [--project P] [--config key=value …] [--order N] [--json]
  apps attach <id> <key> <file> [--content-type T]
                        upload the file of an attachment config field (meta.attachments[key])
  apps list | config <id> --config k=v … | enable <id> | disable <id> | order <id> … | remove <id> | logs <id> [--limit N] [--level L] [--follow]
                        [--project P] [--json]
  projects create <name> [--id ID] [--json] | projects list [--json]
  events tail [--project P] [--event NAME] [--distinct-id ID] [--json]
  new app <dir> [--ts] [--name "App name"]
                        scaffold an app: plugin.json, index, a test, a README
  dev <app-dir> (--events file.jsonl | --from-project P [--last N]) [--config key=value …] [--attach key=file …] [--json]
                        run an app locally in the sandbox and show what it does to each event
  dead-letters list [--project P] [--instance ID] [--limit N] [--json]
  dead-letters replay [--project P] [--instance ID] [--id ID …] [--json]
Configuration comes from environment variables; see the README.`;

const SERVICES: Record<string, Role[]> = {
  start: ['intake', 'worker', 'runner'],
  intake: ['intake'],
  worker: ['worker'],
  runner: ['runner'],
};

async function main(argv: string[]): Promise<void> {
  const [command, ...args] = argv;
  const roles = command ? SERVICES[command] : undefined;
  if (roles) return serve(loadConfig(), roles, { startRedis: command === 'start' });
  if (command === 'apps') return appsCommand(args);
  if (command === 'dead-letters') return deadLettersCommand(args);
  if (command === 'projects') return projectsCommand(args);
  if (command === 'events') return eventsCommand(args);
  if (command === 'dev') return devCommand(args);
  if (command === 'new') return newCommand(args);
  throw new UsageError(command && command !== 'help' && command !== '--help' ? `unknown command "${command}"\n${USAGE}` : USAGE);
}

const KNOWN_ERRORS = [ConfigError, CliError, UsageError, RedisUnavailableError];

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (error: unknown) => {
    // Expected failures get one clear line; anything else keeps its stack for a bug report.
    const known = KNOWN_ERRORS.some((kind) => error instanceof kind);
    process.stderr.write(`sluice: ${known ? (error as Error).message : ((error as Error).stack ?? String(error))}\n`);
    process.exit(known ? 2 : 1);
  },
);
