import type { CapturePart } from './capture-parts';
import type { CaptureInput, CheckedCapture } from './check-capture';

/** What the intake posts to a body-check thread. */
export interface CheckRequest {
  id: number;
  input: CaptureInput;
}

/** A check thread's answer: the checked request, or the error (a CaptureError's fields when it is one). */
export type CheckReply =
  /** Sent once, when the thread has loaded and listens. */
  | { ready: true }
  | { id: number; result: Omit<CheckedCapture, 'parts'> & { parts: Array<Omit<CapturePart, 'json'> & { json: Uint8Array }> } }
  | { id: number; error: { message: string; code?: string; statusCode?: number; retryAfterSeconds?: number | undefined } };

/**
 * `bytes` when they fill their whole ArrayBuffer, otherwise a copy that does: only a buffer of
 * its own can be transferred to another thread (a slice of Node's shared pool cannot).
 */
export function ownedBytes(bytes: Buffer): Buffer {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength) return bytes;
  const copy = Buffer.allocUnsafeSlow(bytes.byteLength);
  bytes.copy(copy);
  return copy;
}
