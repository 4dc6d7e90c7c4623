import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { lookup as dnsLookupAll } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { rootCertificates } from 'node:tls';
import ipaddr from 'ipaddr.js';
import { ProxyAgent as NodeProxyAgent } from 'proxy-agent';
import { getProxyForUrl } from 'proxy-from-env';
// undici's own fetch (not Node's bundled one) because its Agent lets us check every address a
// connection is about to use (connect.lookup), which is what stops DNS-rebinding SSRF.
import { Agent, ProxyAgent, fetch, type Dispatcher } from 'undici';

/** What an app's `fetch` may reach and how long and how much it may take. */
export interface FetchPolicy {
  /** true: any address; a list: these CIDRs (or addresses) besides public ones; false: public only. */
  allowPrivate: boolean | string[];
  timeoutMs: number;
  maxResponseBytes: number;
  /** Redirects followed, each one checked like the first request. */
  maxRedirects: number;
  /** PEM certificates trusted besides the public roots (an operator's private CA); absent: Node's defaults. */
  extraCa?: string;
}

export const DEFAULT_FETCH_POLICY: FetchPolicy = { allowPrivate: false, timeoutMs: 10_000, maxResponseBytes: 10 * 1024 * 1024, maxRedirects: 5 };

export interface FetchRequest {
  url: string;
  method?: string;
  headers?: Record<string, string> | Array<[string, string]>;
  body?: string;
}

export interface FetchResponse {
  url: string;
  status: number;
  statusText: string;
  headers: Array<[string, string]>;
  body: string;
  redirected: boolean;
}

/** A request the policy refuses: the app gets this message. */
export class FetchBlockedError extends Error {
  override name = 'FetchBlockedError';
}

const MAX_REQUEST_BODY_BYTES = 10 * 1024 * 1024;

/** Parses "10.0.0.0/8" or "127.0.0.1" into a CIDR pair; a clear error for anything else. */
export function parseAllowedRange(text: string): [ipaddr.IPv4 | ipaddr.IPv6, number] {
  const trimmed = text.trim();
  if (trimmed.includes('/')) return ipaddr.parseCIDR(trimmed);
  const address = ipaddr.parse(trimmed);
  return [address, address.kind() === 'ipv4' ? 32 : 128];
}

/** Guards one policy's addresses; shared by every request made under it. */
export class GuardedFetch {
  private readonly agent: Agent;
  private readonly proxyDispatchers = new Map<string, ProxyAgent>();
  private readonly nodeAgents = new Set<http.Agent>();
  /** The DNS lookup every direct connection under this policy uses: it refuses blocked addresses. */
  readonly lookup: LookupFunction;
  private readonly allowed: Array<[ipaddr.IPv4 | ipaddr.IPv6, number]>;
  /** The CAs TLS trusts under this policy (for fetch and the bridges); undefined: Node's defaults. */
  readonly trustedCa: string[] | undefined;

  constructor(readonly policy: FetchPolicy = DEFAULT_FETCH_POLICY) {
    this.allowed = Array.isArray(policy.allowPrivate) ? policy.allowPrivate.map(parseAllowedRange) : [];
    this.lookup = this.guardedLookup('fetch');
    // A CA list replaces Node's defaults, so the public roots are given along with the extra ones.
    this.trustedCa = policy.extraCa ? [...rootCertificates, policy.extraCa] : undefined;
    this.agent = new Agent({ connect: { lookup: this.lookup, ...(this.trustedCa && { ca: this.trustedCa }) }, connections: 16 });
  }

  /** A DNS lookup that fails with a FetchBlockedError (naming `what`) for an address apps may not reach. */
  private guardedLookup(what: string): LookupFunction {
    return (hostname, options, callback) => {
      dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
        if (error) return callback(error, '', 0);
        const blocked = this.blockedAmong(what, hostname, addresses);
        if (blocked) return callback(blocked, '', 0);
        if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
        const first = addresses[0]!;
        callback(null, first.address, first.family);
      });
    };
  }

  /**
   * A Node `http.Agent` for one bridge client (`what` names the bridge in its errors: "S3",
   * "BigQuery"): direct connections use the guarded lookup and the trusted CAs; HTTP(S)_PROXY /
   * NO_PROXY are honoured per request, as for fetch. Its connections are kept alive for that client
   * alone, so destroying it (the bridge does, with its client) closes exactly that client's sockets
   * and nothing of another instance's; close() destroys those still open.
   */
  nodeAgent(what: string): http.Agent {
    const lookup = this.guardedLookup(what);
    const ca = this.trustedCa;
    const direct = { lookup, keepAlive: true, maxSockets: 16, ...(ca && { ca }) };
    const agent = new GuardedProxyAgent(ca, () => this.nodeAgents.delete(agent), {
      // Node's ClientRequest asks the agent it was given (this one) whether to keep the connection,
      // and says "Connection: close" unless it has keepAlive or a finite maxSockets. Not keepAlive:
      // this agent would then pool sockets itself and hand a proxied socket back without the proxy
      // agent's absolute request path. The direct agents below keep their connections alive.
      maxSockets: 16,
      httpAgent: new http.Agent(direct),
      httpsAgent: new https.Agent(direct),
      getProxyForUrl: async (url: string) => {
        const proxy = getProxyForUrl(url);
        if (proxy) await this.checkProxiedTarget(what, new URL(url));
        // A direct connection's name is checked by the lookup, which Node skips for an IP literal.
        else if (isIP(new URL(url).hostname.replace(/^\[|\]$/g, ''))) await this.checkedAddresses(what, new URL(url).hostname);
        return proxy;
      },
    });
    this.nodeAgents.add(agent);
    return agent;
  }

  /**
   * Through a proxy the connection goes to the proxy (the operator's, so trusted at any address),
   * and the proxy resolves the target: the target is checked here as this host resolves it.
   */
  private async checkProxiedTarget(what: string, url: URL): Promise<void> {
    await this.checkedAddresses(what, url.hostname, { unresolvable: 'pass' });
  }

  /**
   * `host`'s addresses (a name resolved, an IP literal as it is), or the FetchBlockedError of the
   * first one apps may not reach. A name this host cannot resolve fails the lookup, unless
   * `unresolvable: 'pass'` (a proxied target: the proxy resolves it), which answers none.
   */
  async checkedAddresses(what: string, host: string, options: { unresolvable?: 'fail' | 'pass' } = {}): Promise<string[]> {
    const bare = host.replace(/^\[|\]$/g, '');
    const addresses = isIP(bare)
      ? [{ address: bare }]
      : await dnsLookupAll(bare, { all: true }).catch((error: unknown) => {
        if (options.unresolvable === 'pass') return [];
        throw error;
      });
    const blocked = this.blockedAmong(what, bare, addresses);
    if (blocked) throw blocked;
    return addresses.map(({ address }) => address);
  }

  /** fetch's dispatcher for a URL: the proxy HTTP(S)_PROXY names for it (NO_PROXY honoured), else the guarded agent. */
  private async dispatcherFor(url: URL): Promise<Dispatcher> {
    const proxy = getProxyForUrl(url.toString());
    if (!proxy) return this.agent;
    await this.checkProxiedTarget('fetch', url);
    let dispatcher = this.proxyDispatchers.get(proxy);
    if (!dispatcher) {
      dispatcher = new ProxyAgent({ uri: proxy, ...(this.trustedCa && { requestTls: { ca: this.trustedCa } }) });
      this.proxyDispatchers.set(proxy, dispatcher);
    }
    return dispatcher;
  }

  /** The error for the first of a host's addresses that apps may not reach, if any; `what` names the client ("fetch", "pg: connection"). */
  blockedAmong(what: string, hostname: string, addresses: ReadonlyArray<{ address: string }>): FetchBlockedError | undefined {
    for (const { address } of addresses) {
      const refusal = this.refusal(address);
      if (refusal) return new FetchBlockedError(`${what} to ${hostname} (${address}) is blocked: ${refusal}`);
    }
    return undefined;
  }

  /** Why an address may not be reached, or undefined when it may. */
  refusal(address: string): string | undefined {
    if (this.policy.allowPrivate === true) return undefined;
    let parsed = ipaddr.parse(address);
    if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address();
    const range = parsed.range();
    if (range === 'unicast') return undefined;
    if (this.allowed.some(([network, bits]) => network.kind() === parsed.kind() && parsed.match(network, bits))) return undefined;
    return `${range} addresses are not reachable from apps (SLUICE_FETCH_ALLOW_PRIVATE allows them)`;
  }

  private checkUrl(url: URL): void {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new FetchBlockedError(`fetch: only http and https URLs are allowed, not ${url.protocol}`);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    // An IP literal never goes through DNS lookup, so the guard in the agent would not see it.
    if (isIP(host)) {
      const refusal = this.refusal(host);
      if (refusal) throw new FetchBlockedError(`fetch to ${host} is blocked: ${refusal}`);
    }
  }

  async fetch(request: FetchRequest): Promise<FetchResponse> {
    if (request.body !== undefined && Buffer.byteLength(request.body) > MAX_REQUEST_BODY_BYTES) {
      throw new RangeError(`fetch: a request body is at most ${MAX_REQUEST_BODY_BYTES} bytes`);
    }
    const signal = AbortSignal.timeout(this.policy.timeoutMs);
    let url = new URL(request.url);
    let method = (request.method ?? 'GET').toUpperCase();
    let body = request.body;
    for (let redirects = 0; ; redirects++) {
      this.checkUrl(url);
      let response;
      try {
        response = await fetch(url, { method, headers: request.headers, body, redirect: 'manual', signal, dispatcher: await this.dispatcherFor(url) });
      } catch (error) {
        throw describeFailure(error, url, this.policy.timeoutMs);
      }
      const location = response.headers.get('location');
      if (response.status >= 300 && response.status < 400 && location) {
        await response.body?.cancel();
        if (redirects >= this.policy.maxRedirects) throw new Error(`fetch: more than ${this.policy.maxRedirects} redirects from ${request.url}`);
        url = new URL(location, url);
        // As browsers and node-fetch do: 303, and 301/302 after a POST, become a GET without a body.
        if (response.status === 303 || ((response.status === 301 || response.status === 302) && method === 'POST')) {
          method = 'GET';
          body = undefined;
        }
        continue;
      }
      return {
        url: url.toString(),
        status: response.status,
        statusText: response.statusText,
        headers: [...response.headers],
        body: await this.readCapped(response.body, url).catch((error: unknown) => {
          throw error instanceof RangeError ? error : describeFailure(error, url, this.policy.timeoutMs);
        }),
        redirected: redirects > 0,
      };
    }
  }

  private async readCapped(stream: ReadableStream<Uint8Array> | null, url: URL): Promise<string> {
    if (!stream) return '';
    const chunks: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of stream) {
      size += chunk.byteLength;
      if (size > this.policy.maxResponseBytes) {
        await stream.cancel().catch(() => undefined);
        throw new RangeError(`fetch: the response of ${url.origin} is larger than ${this.policy.maxResponseBytes} bytes`);
      }
      chunks.push(chunk);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  async close(): Promise<void> {
    for (const agent of [...this.nodeAgents]) agent.destroy();
    await Promise.all([this.agent.close(), ...[...this.proxyDispatchers.values()].map((dispatcher) => dispatcher.close())]);
  }
}

/**
 * proxy-agent hands the target's TLS the request's options only: the trusted CAs are added to
 * them, so a proxied HTTPS request trusts the same CAs as a direct one.
 */
class GuardedProxyAgent extends NodeProxyAgent {
  constructor(
    private readonly ca: string[] | undefined,
    private readonly onDestroy: () => void,
    options: ConstructorParameters<typeof NodeProxyAgent>[0],
  ) {
    super(options);
  }

  override connect(request: http.ClientRequest, options: Parameters<NodeProxyAgent['connect']>[1]): Promise<http.Agent> {
    if (this.ca && options.secureEndpoint && !(options as { ca?: unknown }).ca) Object.assign(options, { ca: this.ca });
    return super.connect(request, options);
  }

  /** Closes the direct connections too (ProxyAgent's own destroy closes only its proxies' agents). */
  override destroy(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
    super.destroy();
    this.onDestroy();
  }
}

/** undici hides the reason in `cause`; the app should see it (blocked, timed out, refused). */
function describeFailure(error: unknown, url: URL, timeoutMs: number): Error {
  const cause = (error as { cause?: unknown }).cause;
  if (cause instanceof FetchBlockedError) return cause;
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return new Error(`fetch to ${url.origin} timed out after ${timeoutMs} ms`);
  }
  const reason = cause instanceof Error ? cause.message : error instanceof Error ? error.message : String(error);
  return new Error(`fetch to ${url.origin} failed: ${reason}`);
}
