import type { FastifyInstance } from 'fastify';

/** A port that is taken and may not be swapped for another: one line for the user, exit 2. */
export class PortInUseError extends Error {
  override name = 'PortInUseError';
}

export interface ListenOptions {
  host: string;
  port: number;
  /** The environment variable that sets this port, named in the error. */
  variable: string;
  /** When the port is taken: listen on a free one instead (a default port), or fail (a port the user chose). */
  whenTaken: 'free-port' | 'fail';
}

/** Listens, and says on which port: the asked one, or a free one when it was taken and that is allowed. */
export async function listenOn(app: FastifyInstance, options: ListenOptions): Promise<{ port: number; tookFreePort: boolean }> {
  try {
    await app.listen({ host: options.host, port: options.port });
    return { port: boundPort(app), tookFreePort: false };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    if (options.whenTaken === 'fail') {
      throw new PortInUseError(`${options.variable}=${options.port}: ${options.host}:${options.port} is already in use by another process; choose a free port${options.variable === 'SLUICE_METRICS_PORT' ? ', or leave SLUICE_METRICS_PORT unset to take one' : ''}`);
    }
    await app.listen({ host: options.host, port: 0 });
    return { port: boundPort(app), tookFreePort: true };
  }
}

function boundPort(app: FastifyInstance): number {
  const address = app.server.address();
  return typeof address === 'object' && address ? address.port : 0;
}
