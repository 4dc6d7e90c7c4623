import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../helpers/services';

/** A PostgreSQL server of the scenario's own (Debian's binaries), so stopping it touches nothing else. */
export interface OwnPostgres {
  url: string;
  stop(): void;
  start(): void;
  remove(): Promise<void>;
}

function binDir(): string {
  const versions = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a));
  if (!versions.length) throw new Error('no PostgreSQL under /usr/lib/postgresql (apt-get install postgresql)');
  return `/usr/lib/postgresql/${versions[0]}/bin`;
}

/** Postgres refuses to run as root: as root, its commands run as the postgres user. */
function run(command: string, args: string[]): SpawnSyncReturns<string> {
  const asRoot = process.getuid?.() === 0;
  const result = asRoot
    ? spawnSync('runuser', ['-u', 'postgres', '--', command, ...args], { encoding: 'utf8' })
    : spawnSync(command, args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr || result.stdout}`);
  return result;
}

export async function startOwnPostgres(): Promise<OwnPostgres> {
  const bin = binDir();
  const root = await mkdtemp(join(tmpdir(), 'sluice-chaos-pg-'));
  await chmod(root, 0o777);
  const dataDir = join(root, 'data');
  const port = await freePort();
  if (process.getuid?.() === 0) spawnSync('chown', ['postgres', root]);
  run(`${bin}/initdb`, ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  const options = `-p ${port} -k ${root} -c listen_addresses=127.0.0.1 -c fsync=on`;
  const start = () => void run(`${bin}/pg_ctl`, ['-D', dataDir, '-o', options, '-l', join(root, 'postgres.log'), '-w', 'start']);
  const stop = () => void run(`${bin}/pg_ctl`, ['-D', dataDir, '-m', 'fast', '-w', 'stop']);
  start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop,
    start,
    remove: async () => {
      try {
        stop();
      } catch {
        // already stopped
      }
      await rm(root, { recursive: true, force: true });
    },
  };
}
