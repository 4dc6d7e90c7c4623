import jwt from 'jsonwebtoken';
import { HostCallError } from './host-sync';
import type { LazyGroup } from './lazy';
import { JSONWEBTOKEN_JS } from '../vm-sources';

/** A token, payload or key longer than this is refused (far beyond any real JWT or PEM key). */
const MAX_JWT_INPUT_CHARS = 1024 * 1024;

/** A key from the VM: text, or bytes as `{ base64 }` (a Buffer secret). */
function keyOf(key: unknown): jwt.Secret {
  if (typeof key === 'string') return key;
  if (key && typeof key === 'object' && typeof (key as { base64?: unknown }).base64 === 'string') return Buffer.from((key as { base64: string }).base64, 'base64');
  throw new HostCallError('TypeError', 'jsonwebtoken: the secret or key must be a string or a Buffer');
}

/**
 * sign, verify and decode run synchronously, as apps call them. The answer is JSON: `{ value }`,
 * or `{ error: { name, message, … } }` for jsonwebtoken's own errors, which the shim throws with
 * their class names (JsonWebTokenError, TokenExpiredError with expiredAt, NotBeforeError with date).
 */
function run(op: string, json: string): string {
  const [first, key, options] = JSON.parse(json) as [unknown, unknown, Record<string, unknown> | undefined];
  try {
    switch (op) {
      case 'sign':
        return JSON.stringify({ value: jwt.sign(first as string | object, keyOf(key), (options ?? {}) as jwt.SignOptions) });
      case 'verify':
        return JSON.stringify({ value: jwt.verify(String(first), keyOf(key), { ...(options as jwt.VerifyOptions), complete: options?.complete === true }) });
      case 'decode':
        return JSON.stringify({ value: jwt.decode(String(first), (options ?? {}) as jwt.DecodeOptions) });
      default:
        throw new HostCallError('TypeError', `jsonwebtoken: unknown operation ${op}`);
    }
  } catch (error) {
    if (error instanceof jwt.JsonWebTokenError) {
      const { name, message } = error;
      const extra = error instanceof jwt.TokenExpiredError ? { expiredAt: error.expiredAt.toISOString() } : error instanceof jwt.NotBeforeError ? { date: error.date.toISOString() } : {};
      return JSON.stringify({ error: { name, message, ...extra } });
    }
    throw error;
  }
}

/** `require('jsonwebtoken')`: sign, verify and decode by the real library on the host, synchronously or with a callback. */
export const jsonwebtokenModule: LazyGroup = {
  name: 'jsonwebtoken',
  requires: ['buffer'],
  modules: ['jsonwebtoken'],
  host: {
    jwt: ['jsonwebtoken', (args) => run(args.string(0, 10), args.string(1, MAX_JWT_INPUT_CHARS))],
  },
  source: JSONWEBTOKEN_JS,
};
