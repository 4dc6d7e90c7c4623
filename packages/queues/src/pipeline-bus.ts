import type { Redis } from 'ioredis';

/**
 * Tells every process that a project's pipeline changed (app installed, removed, reconfigured),
 * over Redis pub/sub, so each reloads that project's instances without a restart.
 */
export class PipelineBus {
  private subscriber: Redis | undefined;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.channel = `${prefix}:pipeline-changed`;
  }

  private readonly channel: string;

  async publish(projectId: string): Promise<void> {
    await this.redis.publish(this.channel, projectId);
  }

  async subscribe(onChange: (projectId: string) => void): Promise<void> {
    this.subscriber ??= this.redis.duplicate();
    this.subscriber.on('message', (channel: string, projectId: string) => {
      if (channel === this.channel) onChange(projectId);
    });
    await this.subscriber.subscribe(this.channel);
  }

  async close(): Promise<void> {
    this.subscriber?.disconnect();
    this.subscriber = undefined;
  }
}
