import type { Project } from '@sluice/core';

/**
 * Project lookups by token, cached briefly: capture requests must not cost a database query each,
 * and unknown tokens are cached too so a client with a bad token cannot hammer the store.
 */
export class TokenCache {
  private readonly entries = new Map<string, { project: Project | null; expires: number }>();

  constructor(
    private readonly lookup: (token: string) => Promise<Project | null>,
    private readonly ttlMs = 10_000,
  ) {}

  /** The cached answer, without a promise (null: an unknown token); undefined when it must be looked up. */
  peek(token: string): Project | null | undefined {
    const hit = this.entries.get(token);
    return hit && hit.expires > Date.now() ? hit.project : undefined;
  }

  async get(token: string): Promise<Project | null> {
    const cached = this.peek(token);
    if (cached !== undefined) return cached;
    const expires = Date.now() + this.ttlMs;
    const project = await this.lookup(token);
    if (this.entries.size > 10_000) this.entries.clear();
    this.entries.set(token, { project, expires });
    return project;
  }

  clear(): void {
    this.entries.clear();
  }
}
