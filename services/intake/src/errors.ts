import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
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
    if (fastifyError.code === 'FST_ERR_CTP_INVALID_JSON' || fastifyError.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
      return reply.status(400).send({ error: 'invalid_json', message: `the body is not valid JSON: ${error.message}` });
    }
    if (fastifyError.validation) {
      return reply.status(400).send({ error: 'invalid_request', message: error.message });
    }
    const status = fastifyError.statusCode ?? 500;
    if (status >= 500) {
      logger.error({ err: error, url: request.url }, 'request failed');
      return reply.status(status).send({ error: 'internal_error', message: 'the server failed to handle the request; it is logged' });
    }
    return reply.status(status).send({ error: fastifyError.code ?? 'bad_request', message: error.message });
  };
}
