import { randomBytes } from 'node:crypto';

/** A project token in PostHog's shape (`phc_` + 43 url-safe characters). */
export function newProjectToken(): string {
  return `phc_${randomBytes(32).toString('base64url')}`;
}

export function newAdminToken(): string {
  return `sla_${randomBytes(32).toString('base64url')}`;
}

export function newId(): string {
  return randomBytes(12).toString('base64url');
}
