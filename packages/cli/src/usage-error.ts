/** A command line that cannot be run as given (unknown command, a missing setting); one line, exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}
