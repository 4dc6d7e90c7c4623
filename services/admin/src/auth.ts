import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError } from '@sluice/http';
import { errors } from './schemas';

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** Compares digests, which keeps the comparison constant-time whatever the lengths. */
function sameSecret(given: string, expected: Buffer): boolean {
  return timingSafeEqual(digest(given), expected);
}

/** The console's session cookie (HttpOnly, SameSite=Strict: no script reads it, no other site sends it). */
export const SESSION_COOKIE = 'sluice_session';
/** A console login lasts this long; logging in again starts a new one. */
export const SESSION_SECONDS = 12 * 60 * 60;

/**
 * A session is `<expiry>.<HMAC of it keyed by the admin token>`: nothing is stored server-side,
 * every process with the same token accepts it, and rotating the admin token ends every session.
 */
export class ConsoleSessions {
  constructor(private readonly adminToken: string) {}

  private signature(expiresAt: number): string {
    return createHmac('sha256', this.adminToken).update(`console:${expiresAt}`).digest('base64url');
  }

  issue(now = Date.now()): { value: string; expiresAt: number } {
    const expiresAt = Math.floor(now / 1000) + SESSION_SECONDS;
    return { value: `${expiresAt}.${this.signature(expiresAt)}`, expiresAt };
  }

  /** The session's expiry (Unix seconds) when `value` is one this token signed and it has not expired. */
  check(value: string | undefined, now = Date.now()): number | undefined {
    const match = /^(\d{1,12})\.([\w-]{43})$/.exec(value ?? '');
    if (!match) return undefined;
    const expiresAt = Number(match[1]);
    if (expiresAt * 1000 <= now) return undefined;
    const expected = Buffer.from(this.signature(expiresAt));
    const given = Buffer.from(match[2]!);
    return given.length === expected.length && timingSafeEqual(given, expected) ? expiresAt : undefined;
  }

  isAdminToken(token: string): boolean {
    return sameSecret(token, digest(this.adminToken));
  }
}

function cookieOf(request: FastifyRequest): string | undefined {
  return (request as FastifyRequest & { cookies?: Record<string, string | undefined> }).cookies?.[SESSION_COOKIE];
}

/**
 * A preHandler that lets a request through with `Authorization: Bearer <admin token>` or, from the
 * console, with a valid session cookie.
 */
export function requireAdminToken(adminToken: string) {
  const expected = digest(adminToken);
  const sessions = new ConsoleSessions(adminToken);
  return async (request: FastifyRequest): Promise<void> => {
    const header = request.headers.authorization;
    const match = /^Bearer\s+(.+)$/i.exec(header ?? '');
    if (match && sameSecret(match[1]!.trim(), expected)) return;
    if (header === undefined && sessions.check(cookieOf(request)) !== undefined) return;
    throw new ApiError(401, 'unauthorized', 'missing or wrong admin token: send "Authorization: Bearer <SLUICE_ADMIN_TOKEN>"');
  };
}

/** The session cookie's attributes; `secure` when the console is reached over HTTPS. */
function cookieOptions(request: FastifyRequest, maxAge: number) {
  return { path: '/', httpOnly: true, sameSite: 'strict' as const, secure: request.protocol === 'https', maxAge };
}

/**
 * POST /api/session `{token}` logs the console in (a wrong token is a 401 naming it), GET says
 * whether the cookie is still good, DELETE logs out. Public routes: they are the way in.
 */
export async function sessionRoutes(app: FastifyInstance, deps: { adminToken: string }): Promise<void> {
  const sessions = new ConsoleSessions(deps.adminToken);
  const body = { type: 'object', required: ['token'], properties: { token: { type: 'string', minLength: 1, description: 'SLUICE_ADMIN_TOKEN' } } } as const;
  const session = { type: 'object', properties: { expiresAt: { type: 'string', description: 'when the session ends (ISO time)' } } } as const;

  app.post<{ Body: { token: string } }>('/session', { schema: { tags: ['console'], summary: 'log the console in: sets an HttpOnly session cookie', security: [], body, response: { 200: session, ...errors(400, 401) } } }, async (request, reply) => {
    if (!sessions.isAdminToken(request.body.token.trim())) throw new ApiError(401, 'unauthorized', 'wrong admin token (SLUICE_ADMIN_TOKEN)', { field: 'token' });
    const { value, expiresAt } = sessions.issue();
    reply.setCookie(SESSION_COOKIE, value, cookieOptions(request, SESSION_SECONDS));
    return { expiresAt: new Date(expiresAt * 1000).toISOString() };
  });
  app.get('/session', { schema: { tags: ['console'], summary: 'the console session, 401 when logged out or expired', security: [], response: { 200: session, ...errors(401) } } }, async (request) => {
    const expiresAt = sessions.check(cookieOf(request));
    if (expiresAt === undefined) throw new ApiError(401, 'unauthorized', 'not logged in (or the session expired)');
    return { expiresAt: new Date(expiresAt * 1000).toISOString() };
  });
  app.delete('/session', { schema: { tags: ['console'], summary: 'log the console out', security: [] } }, async (request, reply) => {
    reply.clearCookie(SESSION_COOKIE, cookieOptions(request, 0));
    return reply.status(204).send();
  });
}
