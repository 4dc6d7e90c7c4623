import type { RedisClient } from './connection';

/**
 * Tells every process that a project's pipeline changed (app installed, removed, reconfigured),
 * over Redis pub/sub, so each reloads that project's instances without a restart.
 */
export class PipelineBus {
  private subscriber: RedisClient | undefined;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
  ) {
    this.channel = `${prefix}:pipeline-changed`;
  }

  private readonly channel: string;

  async publish(projectId: string): Promise<void> {
    await this.redis.publish(this.channel, projectId);
  }

  /**
   * `onResubscribed` runs when the subscription comes back after a lost connection: messages
   * published meanwhile are gone, so the caller reloads everything.
   */
  async subscribe(onChange: (projectId: string) => void, onResubscribed?: () => void): Promise<void> {
    const subscriber = (this.subscriber ??= this.redis.duplicate());
    subscriber.on('message', (channel: string, projectId: string) => {
      if (channel === this.channel) onChange(projectId);
    });
    await subscriber.subscribe(this.channel);
    // ioredis re-subscribes by itself after a reconnect; 'ready' fires again each time.
    subscriber.on('ready', () => onResubscribed?.());
  }

  async close(): Promise<void> {
    this.subscriber?.disconnect();
    this.subscriber = undefined;
  }
}
