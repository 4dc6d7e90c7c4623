import type { FastifyError, FastifyReply, FastifyRequest, FastifySchemaValidationError } from 'fastify';
import { CaptureError, type Logger } from '@sluice/core';

/** An API error with the JSON body every Sluice route answers with: `{error, message, details?}`. */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

export function notFound(what: string): ApiError {
  return new ApiError(404, 'not_found', `${what} not found`);
}

/** Maps every error to a JSON body naming the problem; a 5xx is logged, a 4xx is the client's. */
export function errorHandler(logger: Logger) {
  return (error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply) => {
    if (error instanceof ApiError) {
      return reply.status(error.statusCode).send({ error: error.code, message: error.message, ...(error.details && { details: error.details }) });
    }
    if (error instanceof CaptureError) {
      if (error.retryAfterSeconds !== undefined) void reply.header('retry-after', String(error.retryAfterSeconds));
      return reply.status(error.statusCode).send({ error: error.code, message: error.message });
    }
    const fastifyError = error as FastifyError;
    if (fastifyError.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return reply.status(413).send({ error: 'payload_too_large', message: `the body is larger than the limit of ${request.routeOptions.bodyLimit ?? ''} bytes`.trim() });
    }
    // (An empty JSON body never gets here: it means no body, see empty-json-body.ts.)
    if (fastifyError.code === 'FST_ERR_CTP_INVALID_JSON') {
      return reply.status(400).send({ error: 'invalid_json', message: `the body is not valid JSON: ${error.message}` });
    }
    if (fastifyError.validation) {
      const { code, message, details } = validationError(fastifyError.validation, fastifyError.validationContext ?? 'body');
      return reply.status(400).send({ error: code, message, details });
    }
    const status = fastifyError.statusCode ?? 500;
    if (status >= 500) {
      logger.error({ err: error, url: request.url }, 'request failed');
      return reply.status(status).send({ error: 'internal_error', message: 'the server failed to handle the request; it is logged' });
    }
    return reply.status(status).send({ error: fastifyError.code ?? 'bad_request', message: error.message });
  };
}

/**
 * A schema validation failure as the admin API's other 400s: the field named in `details.field`
 * (`config.region`, `ids`, `instanceId`; an index in an array names the array) and a message
 * saying what it must be. Bodies are `invalid_request`, path and query parameters `invalid_parameter`.
 */
export function validationError(problems: FastifySchemaValidationError[], context: string) {
  const problem = problems[0];
  const segments = (problem?.instancePath ?? '').split('/').slice(1).map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'));
  const params = (problem?.params ?? {}) as { missingProperty?: string; allowedValues?: unknown[] };
  if (problem?.keyword === 'required' && params.missingProperty) segments.push(params.missingProperty);
  const field = segments.filter((part) => !/^\d+$/.test(part)).join('.') || context;
  const shown = segments.reduce((path, part) => (/^\d+$/.test(part) ? `${path}[${part}]` : path ? `${path}.${part}` : part), '') || context;
  let what = problem?.message ?? 'is not valid';
  if (problem?.keyword === 'required') what = 'is required';
  else if (problem?.keyword === 'enum' && params.allowedValues) what = `must be one of ${params.allowedValues.join(', ')}`;
  return {
    code: context === 'body' ? 'invalid_request' : 'invalid_parameter',
    message: `"${shown}" ${what}`,
    details: { field },
  };
}
