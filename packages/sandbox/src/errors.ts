/** Something wrong with an app's files; the message names the file and, where it applies, the field. */
export class AppSourceError extends Error {
  override name = 'AppSourceError';
  constructor(
    message: string,
    readonly file: string,
    readonly field?: string,
  ) {
    super(message);
  }
}
