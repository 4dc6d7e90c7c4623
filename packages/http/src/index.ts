export { ApiError, errorHandler, notFound, validationError } from './errors';
export { closeHttpServer, createHttpServer, type HttpServerOptions } from './server';
export { emptyJsonBodyIsNoBody } from './empty-json-body';
