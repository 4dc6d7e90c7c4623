/** Lowercase, and no trailing slash on the path (a bare "/" stays: URL keeps it). Query and fragment are kept. */
export function normalizeUrl(url: string): string {
  let parsed: URL
  try {
    parsed = new URL(url.toLocaleLowerCase())
  } catch {
    throw new Error(`Unable to normalize invalid URL: "${url}"`)
  }
  parsed.pathname = parsed.pathname.replace(/\/$/, '')
  return parsed.toString()
}
