import { CaptureError } from '@sluice/core';

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CaptureError('invalid_json', `${what} is not valid JSON: ${(error as Error).message}`);
  }
}

/**
 * Capture bodies arrive as JSON whatever the Content-Type says (`curl -d` sends JSON labelled
 * as a form), or as a form with a `data=` field holding JSON or base64 JSON (posthog-js's
 * beacon style). Compression variants come with the intake compatibility work.
 */
export function decodeCaptureBody(raw: Buffer | string | undefined): unknown {
  const text = (typeof raw === 'string' ? raw : raw?.toString('utf8') ?? '').trim();
  if (text === '') throw new CaptureError('empty_body', 'the request body is empty');
  const first = text[0];
  if (first === '{' || first === '[') return parseJson(text, 'the body');
  const data = new URLSearchParams(text).get('data');
  if (data === null) throw new CaptureError('invalid_json', 'the body is neither JSON nor a form with a "data" field');
  const trimmed = data.trim();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) return parseJson(trimmed, 'the "data" field');
  return parseJson(Buffer.from(trimmed, 'base64').toString('utf8'), 'the base64 "data" field');
}
