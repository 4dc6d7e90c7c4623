/**
 * A body-check thread (CaptureChecker): runs checkCapture on the requests it is posted and answers
 * with the result or the error. Bytes travel both ways as transferred buffers, not copies.
 */
import { parentPort } from 'node:worker_threads';
import { CaptureError } from '@sluice/core';
import { checkCapture, type CaptureInput } from './check-capture';
import { ownedBytes, type CheckReply, type CheckRequest } from './check-messages';

const port = parentPort;
if (!port) throw new Error('check-thread runs as a worker thread only');

port.on('message', ({ id, input }: CheckRequest) => {
  const body = input.body && Buffer.from(input.body.buffer, input.body.byteOffset, input.body.byteLength);
  checkCapture({ ...input, body } satisfies CaptureInput).then(
    ({ token, events, parts, people }) => {
      const sent = parts.map((part) => ({ ...part, json: ownedBytes(typeof part.json === 'string' ? Buffer.from(part.json) : part.json) }));
      port.postMessage({ id, result: { token, events, parts: sent, people } } satisfies CheckReply, sent.map((part) => part.json.buffer as ArrayBuffer));
    },
    (error: unknown) => {
      const reply: CheckReply = error instanceof CaptureError
        ? { id, error: { code: error.code, message: error.message, statusCode: error.statusCode, retryAfterSeconds: error.retryAfterSeconds } }
        : { id, error: { message: error instanceof Error ? `${error.name}: ${error.message}` : String(error) } };
      port.postMessage(reply);
    },
  );
});

port.postMessage({ ready: true } satisfies CheckReply);
