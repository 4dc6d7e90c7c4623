// proxy-from-env ships no types; this is the one function Sluice calls.
declare module 'proxy-from-env' {
  /** The proxy URL HTTP(S)_PROXY / NO_PROXY (and their lower-case forms) give for `url`, or '' for none. */
  export function getProxyForUrl(url: string): string;
}
