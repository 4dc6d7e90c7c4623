import { Worker } from 'node:worker_threads';
import { CaptureError, type Logger } from '@sluice/core';
import { checkCapture, checkCaptureNow, type CaptureInput, type CheckedCapture } from './check-capture';
import { ownedBytes, type CheckReply, type CheckRequest } from './check-messages';

/**
 * Bodies smaller than this are checked on the event loop: parsing them costs less than a round
 * trip to a thread (/capture's single events, most of posthog-js's gzip batches).
 */
export const THREAD_MIN_BODY_BYTES = 128 * 1024;

interface Pending {
  resolve: (checked: CheckedCapture) => void;
  reject: (error: unknown) => void;
}

interface CheckThread {
  worker: Worker;
  online: boolean;
  pending: Map<number, Pending>;
}

const THREAD_FILE = new URL(`./check-thread${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);

/**
 * A thread's first code. From TypeScript sources (tsx), the thread registers tsx's loader itself
 * before importing check-thread: loader hooks of the parent (`--import tsx`) do not reach worker threads.
 */
function threadBootstrap(): string {
  const thread = JSON.stringify(THREAD_FILE.href);
  if (!THREAD_FILE.pathname.endsWith('.ts')) return `import(${thread});`;
  return `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then(({ register }) => { register(); return import(${thread}); });`;
}

/**
 * Runs checkCapture, the intake's costliest step (decoding and JSON.parse of the body, ~half the
 * CPU of a 50-event /batch request), on `threads` worker threads for large bodies. The event loop
 * keeps only HTTP, the project lookup, limits and the queue write, so a 20 MB body no longer
 * stalls every other connection while it is parsed, and the intake uses more than one core.
 * With 0 threads, or until a thread has loaded, every body is checked on the event loop. A thread that
 * dies fails the checks it held (their requests get a 500 and are retried by clients) and is replaced.
 */
export class CaptureChecker {
  private readonly threads: CheckThread[] = [];
  private nextId = 0;
  private closing = false;

  constructor(
    threads: number,
    private readonly logger: Logger,
    /** Counts each check by where it ran (thread or event_loop). */
    private readonly counted: (where: 'thread' | 'event_loop') => void = () => {},
  ) {
    for (let i = 0; i < threads; i++) this.threads.push(this.startThread());
  }

  /**
   * Checks a request on the event loop at once, without a promise, when that is where it belongs
   * (a small body that needs no inflating); undefined otherwise: then `check` it.
   */
  checkNow(input: CaptureInput): CheckedCapture | undefined {
    if (this.threadFor(input)) return undefined;
    let checked: CheckedCapture | undefined;
    try {
      checked = checkCaptureNow(input);
    } catch (error) {
      this.counted('event_loop'); // a refused body was checked too
      throw error;
    }
    // A body that must be inflated first is left for `check`, which counts it.
    if (checked) this.counted('event_loop');
    return checked;
  }

  /** Checks a request. A body sent to a thread is moved there, not copied: afterwards `input.body` may be empty. */
  check(input: CaptureInput): Promise<CheckedCapture> {
    const thread = this.threadFor(input);
    if (!thread) {
      this.counted('event_loop');
      return checkCapture(input);
    }
    const id = this.nextId++;
    this.counted('thread');
    const body = input.body && ownedBytes(input.body);
    return new Promise((resolve, reject) => {
      thread.pending.set(id, { resolve, reject });
      const request: CheckRequest = { id, input: { ...input, body } };
      thread.worker.postMessage(request, body ? [body.buffer as ArrayBuffer] : []);
    });
  }

  /** Threads loaded and taking bodies. */
  get threadsOnline(): number {
    return this.threads.filter((thread) => thread.online).length;
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.threads.map((thread) => thread.worker.terminate()));
  }

  private threadFor(input: CaptureInput): CheckThread | undefined {
    return (input.body?.length ?? 0) >= THREAD_MIN_BODY_BYTES ? this.leastBusy() : undefined;
  }

  private leastBusy(): CheckThread | undefined {
    let best: CheckThread | undefined;
    for (const thread of this.threads) {
      if (thread.online && (!best || thread.pending.size < best.pending.size)) best = thread;
    }
    return best;
  }

  private startThread(): CheckThread {
    const worker = new Worker(threadBootstrap(), { eval: true });
    // Idle threads must not keep a process alive that has nothing else to do.
    worker.unref();
    const thread: CheckThread = { worker, online: false, pending: new Map() };
    worker.on('message', (reply: CheckReply) => {
      if ('ready' in reply) {
        thread.online = true;
        return;
      }
      const pending = thread.pending.get(reply.id);
      if (!pending) return;
      thread.pending.delete(reply.id);
      if ('result' in reply) {
        const parts = reply.result.parts.map(({ json, ...part }) => ({ ...part, json: Buffer.from(json.buffer, json.byteOffset, json.byteLength) }));
        pending.resolve({ ...reply.result, parts });
      } else if (reply.error.code !== undefined) {
        const { code, message, statusCode, retryAfterSeconds } = reply.error;
        pending.reject(new CaptureError(code, message, statusCode, retryAfterSeconds));
      } else {
        pending.reject(new Error(`checking the body failed: ${reply.error.message}`));
      }
    });
    worker.on('error', (error) => this.logger.error({ err: error }, 'a body-check thread failed'));
    worker.once('exit', (code) => {
      const wasOnline = thread.online;
      thread.online = false;
      for (const pending of thread.pending.values()) pending.reject(new Error(`the body-check thread stopped (exit code ${code})`));
      thread.pending.clear();
      if (this.closing) return;
      const at = this.threads.indexOf(thread);
      if (!wasOnline) {
        // It never loaded: another would fail the same way, again and again.
        this.logger.error({ code }, 'a body-check thread could not start; its share of bodies is checked on the event loop');
        this.threads.splice(at, 1);
        return;
      }
      this.logger.warn({ code }, 'a body-check thread stopped; starting another');
      this.threads[at] = this.startThread();
    });
    return thread;
  }
}
