import { DEFAULT_FETCH_POLICY, GuardedFetch, type FetchRequest, type FetchResponse } from '@sluice/sandbox';

/** One fetch an app made in a test run: the request, and what came back when it was sent. */
export interface RecordedFetch {
  method: string;
  url: string;
  headers: Array<[string, string]>;
  body?: string;
  sent: boolean;
  status?: number;
  error?: string;
}

/** What an app's fetch gets when the request is only recorded: a 200 with an empty JSON body. */
const NOT_SENT: Omit<FetchResponse, 'url'> = { status: 200, statusText: 'OK (not sent: test run)', headers: [['content-type', 'application/json'], ['x-sluice-test-run', 'not-sent']], body: '{}', redirected: false };

/**
 * The fetch of an app run for a test: every request is recorded; it is sent (through `sendWith`,
 * the pipeline's guarded fetch with its SSRF policy) only when one is given, otherwise the app
 * gets a stand-in 200 `{}` so it runs on without reaching anything.
 */
export class RecordingFetch extends GuardedFetch {
  readonly requests: RecordedFetch[] = [];

  constructor(private readonly sendWith?: GuardedFetch) {
    super(sendWith?.policy ?? DEFAULT_FETCH_POLICY);
  }

  override async fetch(request: FetchRequest): Promise<FetchResponse> {
    const headers = Array.isArray(request.headers) ? request.headers : Object.entries(request.headers ?? {});
    const record: RecordedFetch = { method: (request.method ?? 'GET').toUpperCase(), url: request.url, headers, ...(request.body !== undefined && { body: request.body }), sent: this.sendWith !== undefined };
    this.requests.push(record);
    if (!this.sendWith) return { url: request.url, ...NOT_SENT };
    try {
      const response = await this.sendWith.fetch(request);
      record.status = response.status;
      return response;
    } catch (error) {
      record.error = (error as Error).message;
      throw error;
    }
  }
}
