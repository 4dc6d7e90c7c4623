import { isUtf8 } from 'node:buffer';
import { promisify } from 'node:util';
import { gunzip, inflate } from 'node:zlib';
import LZString from 'lz-string';
import { CaptureError, MAX_EVENT_DEPTH, nestsDeeperThan } from '@sluice/core';

/** The envelope (`{batch: [ … ]}`) adds two levels above an event's own. */
const MAX_BODY_DEPTH = MAX_EVENT_DEPTH + 2;

const gunzipAsync = promisify(gunzip);
const inflateAsync = promisify(inflate);

/** What arrives with a capture request, before any decoding. */
export interface RawCapture {
  body: Buffer | string | undefined;
  /** The Content-Encoding header. */
  contentEncoding?: string | undefined;
  /** `?compression=` (posthog-js: gzip-js, base64, lz64). */
  compression?: string | undefined;
  /** `?data=` of a GET (beacon or image) request. */
  queryData?: string | undefined;
  /** Largest body after decompression or base64/lz64 decoding: a zip bomb must not fill memory. */
  maxDecodedBytes: number;
}

/** A decoded body: its JSON text (what the intake queues as it is) and its parsed value. */
export interface DecodedBody {
  value: unknown;
  text: string;
  /** The text's UTF-8 bytes when they are at hand (a JSON body as sent or inflated): copied into the job instead of encoding the text again. */
  bytes?: Buffer;
}

function parseJson(text: string, what: string): DecodedBody {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    // Nesting deep enough to exhaust V8's parser lands here too, as a RangeError.
    throw new CaptureError('invalid_json', `${what} is not valid JSON: ${(error as Error).message}`);
  }
  if (nestsDeeperThan(value, MAX_BODY_DEPTH)) {
    throw new CaptureError('too_deep', `${what} nests deeper than ${MAX_BODY_DEPTH} levels`);
  }
  return { value, text };
}

function tooLarge(maxDecodedBytes: number): CaptureError {
  return new CaptureError('payload_too_large', `the decoded body is larger than the limit of ${maxDecodedBytes} bytes`, 413);
}

const isGzip = (bytes: Buffer) => bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;

/** How a body is compressed: gzip (Content-Encoding, posthog-js's `compression=gzip-js`, or gzip's magic bytes), deflate, or not at all. */
function compressionOf(bytes: Buffer, raw: RawCapture): 'gzip' | 'deflate' | undefined {
  const encoding = (raw.contentEncoding ?? '').trim().toLowerCase();
  if (encoding === 'gzip' || encoding === 'x-gzip' || raw.compression === 'gzip-js' || raw.compression === 'gzip' || isGzip(bytes)) return 'gzip';
  if (encoding === 'deflate') return 'deflate';
  if (encoding && encoding !== 'identity') {
    throw new CaptureError('unsupported_encoding', `Content-Encoding "${encoding}" is not supported: send gzip, deflate or none`, 415);
  }
  return undefined;
}

/** zlib stops at `maxOutputLength`, so a gzip bomb is refused after inflating at most the limit, never all of it. */
async function inflated(bytes: Buffer, compression: 'gzip' | 'deflate', maxDecodedBytes: number): Promise<Buffer> {
  try {
    const options = { maxOutputLength: maxDecodedBytes };
    return compression === 'gzip' ? await gunzipAsync(bytes, options) : await inflateAsync(bytes, options);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge(maxDecodedBytes);
    throw new CaptureError('invalid_compression', `the body is not valid ${compression} data: ${(error as Error).message}`);
  }
}

/** The first character that is not JSON whitespace (found without copying a large body the way trim() does). */
function firstSignificant(text: string): string {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code !== 32 && code !== 10 && code !== 13 && code !== 9) return text[i]!;
  }
  return '';
}

function looksLikeJson(text: string): boolean {
  const first = firstSignificant(text);
  return first === '{' || first === '[';
}

/**
 * A `data` value as posthog-js and older clients send it: JSON, base64 of JSON (standard or
 * URL-safe alphabet, padding optional), or lz-string's base64 when `compression=lz64`.
 */
function decodeData(data: string, compression: string | null | undefined, maxDecodedBytes: number): DecodedBody {
  const trimmed = data.trim();
  if (compression === 'lz64') {
    let text: string | null;
    try {
      text = LZString.decompressFromBase64(trimmed);
    } catch {
      text = null; // lz-string throws on some malformed input, returns null or '' on other
    }
    if (!text) throw new CaptureError('invalid_compression', 'the "data" field is not valid lz64 (lz-string base64) data');
    if (text.length * 2 > maxDecodedBytes) throw tooLarge(maxDecodedBytes);
    return parseJson(text, 'the lz64 "data" field');
  }
  if (looksLikeJson(trimmed)) return parseJson(trimmed, 'the "data" field');
  if (!/^[A-Za-z0-9+/\-_\s]*={0,2}\s*$/.test(trimmed)) {
    throw new CaptureError('invalid_json', 'the "data" field is neither JSON nor base64');
  }
  const decoded = Buffer.from(trimmed, 'base64');
  if (decoded.length > maxDecodedBytes) throw tooLarge(maxDecodedBytes);
  return parseJson(decoded.toString('utf8'), 'the base64 "data" field');
}

/**
 * Every body shape PostHog's clients send: JSON whatever the Content-Type says (`curl -d` labels
 * JSON as a form), gzip and deflate, a form with `data=` (JSON, base64 or lz64, with the
 * compression named in the form or the query), a bare base64 body (`compression=base64`), and
 * GET requests carrying `?data=` (beacons, image pixels).
 */
export async function decodeCaptureBody(raw: RawCapture): Promise<DecodedBody> {
  return decodeCaptureBodyNow(raw) ?? decodeCompressedBody(raw);
}

/** A body decodeCaptureBodyNow left undecoded (it must be inflated first): inflated, then decoded. */
export async function decodeCompressedBody(raw: RawCapture): Promise<DecodedBody> {
  const bytes = bodyBytes(raw);
  return decodeInflated(await inflated(bytes, compressionOf(bytes, raw)!, raw.maxDecodedBytes), raw);
}

/**
 * decodeCaptureBody without a promise, for a body that needs no inflating (most requests, and
 * /capture's one-event bodies are all fixed cost: a promise chain per request showed in their
 * profile); undefined when the body must be inflated first.
 */
export function decodeCaptureBodyNow(raw: RawCapture): DecodedBody | undefined {
  if (raw.queryData !== undefined && (raw.body === undefined || raw.body.length === 0)) {
    return decodeData(raw.queryData, raw.compression, raw.maxDecodedBytes);
  }
  const bytes = bodyBytes(raw);
  if (bytes.length === 0) throw new CaptureError('empty_body', 'the request body is empty');
  return compressionOf(bytes, raw) ? undefined : decodeInflated(bytes, raw);
}

function bodyBytes(raw: RawCapture): Buffer {
  return typeof raw.body === 'string' ? Buffer.from(raw.body) : (raw.body ?? Buffer.alloc(0));
}

/** A body's bytes once inflated (or as sent, when they were not compressed). */
function decodeInflated(bytes: Buffer, raw: RawCapture): DecodedBody {
  const text = bytes.toString('utf8');
  if (firstSignificant(text) === '') throw new CaptureError('empty_body', 'the request body is empty');
  if (looksLikeJson(text)) {
    const decoded = parseJson(text, 'the body');
    // Invalid UTF-8 was replaced in the text: then only the text says what was accepted.
    return isUtf8(bytes) ? { ...decoded, bytes } : decoded;
  }
  const form = new URLSearchParams(text.trim());
  const data = form.get('data');
  if (data === null) {
    if (raw.compression === 'base64') return decodeData(text, 'base64', raw.maxDecodedBytes);
    throw new CaptureError('invalid_json', 'the body is neither JSON nor a form with a "data" field');
  }
  return decodeData(data, form.get('compression') ?? raw.compression, raw.maxDecodedBytes);
}
