import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort, waitFor } from './services';
import type { TestCa } from './test-ca';

/** A throwaway PostgreSQL cluster that asks for TLS, on a free loopback port. */
export interface SslPostgres {
  port: number;
  /** A superuser URL for it (trust auth on loopback, TLS required by pg_hba's hostssl). */
  url: string;
  stop(): Promise<void>;
}

/** The Debian server binaries' folder (/usr/lib/postgresql/<version>/bin). */
function serverBin(): string {
  const version = execFileSync('bash', ['-c', 'ls /usr/lib/postgresql | sort -n | tail -1'], { encoding: 'utf8' }).trim();
  return `/usr/lib/postgresql/${version}/bin`;
}

/**
 * initdb's own cluster, as the catalogue's Postgres export expects its server: `ssl = on` with a
 * certificate from `ca`, and only `hostssl` connections allowed. Run as the postgres user when the
 * tests run as root (initdb refuses root).
 */
export async function startSslPostgres(ca: TestCa): Promise<SslPostgres> {
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? statSync('/var/lib/postgresql') : undefined;
  const dir = mkdtempSync(join(tmpdir(), 'sluice-pg-ssl-'));
  const data = join(dir, 'data');
  const run = (command: string, args: string[]) => (asRoot ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args]) as [string, string[]];
  if (owner) chownSync(dir, owner.uid, owner.gid);
  const bin = serverBin();
  execFileSync(...run(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8']), { stdio: 'pipe' });
  for (const [from, to] of [[ca.certFile, 'server.crt'], [ca.keyFile, 'server.key']] as const) {
    copyFileSync(from, join(data, to));
    chmodSync(join(data, to), 0o600);
    if (owner) chownSync(join(data, to), owner.uid, owner.gid);
  }
  writeFileSync(join(data, 'pg_hba.conf'), 'local all all trust\nhostssl all all 127.0.0.1/32 trust\n');
  const port = await freePort();
  const server: ChildProcess = spawn(...run(join(bin, 'postgres'), ['-D', data, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'ssl=on',
    '-c', `unix_socket_directories=${dir}`, '-c', 'fsync=off']), { stdio: 'ignore' });
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  await waitFor('the TLS Postgres to accept connections', async () => {
    const client = new pg.Client({ connectionString: url, ssl: { ca: ca.caPem } });
    try {
      await client.connect();
      await client.end();
      return true;
    } catch {
      return false;
    }
  }, 20_000, 200);
  return {
    port,
    url,
    stop: async () => {
      // pg_ctl, not a signal to the child: under runuser the signal would stop runuser, not postgres.
      const exited = new Promise((done) => (server.exitCode !== null ? done(null) : server.once('exit', done)));
      execFileSync(...run(join(bin, 'pg_ctl'), ['stop', '-D', data, '-m', 'immediate', '-w']), { stdio: 'pipe' });
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
