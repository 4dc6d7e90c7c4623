import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { ApiError } from '@sluice/http';

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** A preHandler that lets a request through only with `Authorization: Bearer <admin token>`. */
export function requireAdminToken(adminToken: string) {
  const expected = digest(adminToken);
  return async (request: FastifyRequest): Promise<void> => {
    const header = request.headers.authorization ?? '';
    const match = /^Bearer\s+(.+)$/i.exec(header);
    // Comparing digests keeps the comparison constant-time whatever the lengths.
    if (!match || !timingSafeEqual(digest(match[1]!.trim()), expected)) {
      throw new ApiError(401, 'unauthorized', 'missing or wrong admin token: send "Authorization: Bearer <SLUICE_ADMIN_TOKEN>"');
    }
  };
}
