import { PROJECT_TOKEN } from '../helpers/services';

/** How the intake answered while a scenario fed it, and what it acknowledged. */
export interface FeedResult {
  /** uuids of events in requests answered 200: what Sluice must store. */
  accepted: Set<string>;
  /** Answers by kind: "200", "503", "429", "500", "refused" (no connection), "hang" (no answer in time). */
  answers: Map<string, number>;
  /** 503/429 answers without a Retry-After header (PostHog's clients need it to back off). */
  withoutRetryAfter: number;
}

export interface FeedOptions {
  /** Where to send: read before every request, so a scenario can move the intake. */
  url: () => string;
  batchSize?: number;
  /** Requests in flight at once. */
  concurrency?: number;
  /** A request with no answer by then counts as a hang, then is retried. */
  requestTimeoutMs?: number;
  /** Called after each answered batch (progress, and the moment a scenario strikes). */
  onBatch?: (sent: number) => void;
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/**
 * Sends the events in /batch requests as PostHog's server-side clients do: a refused request (503,
 * 429, no connection, no answer) is sent again after its Retry-After or a short pause, until the
 * intake takes it. Each event keeps its uuid across resends, so a resend is never a new event.
 */
export function feed(events: Array<Record<string, unknown>>, options: FeedOptions): Promise<FeedResult> {
  return startFeed(events, options).done;
}

/** feed, with its counts readable while it runs (`live`). */
export function startFeed(events: Array<Record<string, unknown>>, options: FeedOptions): { live: FeedResult; done: Promise<FeedResult> } {
  const { batchSize = 100, concurrency = 4, requestTimeoutMs = 10_000 } = options;
  const result: FeedResult = { accepted: new Set(), answers: new Map(), withoutRetryAfter: 0 };
  const tally = (kind: string) => result.answers.set(kind, (result.answers.get(kind) ?? 0) + 1);
  let next = 0;
  let sent = 0;
  const sendOne = async (batch: Array<Record<string, unknown>>) => {
    for (;;) {
      let pause = 200;
      try {
        const response = await fetch(`${options.url()}/batch`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ api_key: PROJECT_TOKEN, batch }),
          signal: AbortSignal.timeout(requestTimeoutMs),
        });
        await response.arrayBuffer();
        tally(String(response.status));
        if (response.status === 200) {
          for (const event of batch) result.accepted.add(event.uuid as string);
          return;
        }
        const retryAfter = response.headers.get('retry-after');
        if ((response.status === 503 || response.status === 429) && !retryAfter) result.withoutRetryAfter++;
        // Honour Retry-After, capped so a scenario does not idle for long.
        if (retryAfter) pause = Math.min(Number(retryAfter) * 1000, 1000);
      } catch (error) {
        tally((error as Error).name === 'TimeoutError' ? 'hang' : 'refused');
      }
      await sleep(pause);
    }
  };
  const lane = async () => {
    while (next < events.length) {
      const batch = events.slice(next, next + batchSize);
      next += batchSize;
      await sendOne(batch);
      sent += batch.length;
      options.onBatch?.(sent);
    }
  };
  return { live: result, done: Promise.all(Array.from({ length: concurrency }, lane)).then(() => result) };
}

/** The answers counted since `before` (a copy of an earlier `answers`). */
export function answersSince(now: Map<string, number>, before: Map<string, number>): Map<string, number> {
  const since = new Map<string, number>();
  for (const [kind, n] of now) if (n - (before.get(kind) ?? 0) > 0) since.set(kind, n - (before.get(kind) ?? 0));
  return since;
}
