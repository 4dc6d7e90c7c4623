/**
 * Input the store rejects, changing nothing: the caller's mistake rather than a database
 * failure, so a service can answer it with a 400 instead of a 500.
 */
export class StoreInputError extends Error {
  override name = 'StoreInputError';
}
