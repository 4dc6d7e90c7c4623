import { useEffect, useState } from 'preact/hooks';
import { api, segment } from './api';
import { ErrorNote, TableHead } from './components';

interface TestResult {
  input: Record<string, unknown>;
  output: Record<string, unknown> | null;
  outcome: 'ok' | 'dropped' | 'error';
  error?: string;
  diff: string[];
  onEvent?: { ok: boolean; error?: string; retry?: boolean };
  exportEvents?: { ok: boolean; error?: string; retry?: boolean };
  logs: Array<{ timestamp: string; level: string; message: string }>;
  jobs: Array<{ name: string; payload: unknown; runAt: number }>;
  captured: Array<{ event: string; distinct_id?: string }>;
  fetches: Array<{ method: string; url: string; body?: string; sent: boolean; status?: number; error?: string }>;
}

/** The fields the pipeline sets on every event: left out of the editable copy (the API fills them in). */
const PIPELINE_SET = ['project_id', 'created_at', 'team_id', 'now', 'sent_at', 'site_url'];

/**
 * Runs the app on one event in a sandbox of its own (POST …/test): the project's latest event, or
 * one edited here; shows the diff, the destination's answer, logs, jobs, captures and fetches.
 */
export function TestRun({ projectId, base }: { projectId: string; base: string }) {
  const [text, setText] = useState('');
  const [send, setSend] = useState(false);
  const [result, setResult] = useState<TestResult>();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const loadLatest = async () => {
    setError(undefined);
    try {
      const { results } = await api<{ results: Array<Record<string, unknown>> }>('GET', `/projects/${segment(projectId)}/events?limit=1`);
      const latest = results[0];
      setText(latest ? JSON.stringify(Object.fromEntries(Object.entries(latest).filter(([key]) => !PIPELINE_SET.includes(key))), null, 2) : JSON.stringify({ event: 'test event', distinct_id: 'test-user', properties: {} }, null, 2));
    } catch (failure) {
      setError(failure);
    }
  };
  useEffect(() => void loadLatest(), [projectId]);
  const run = async (event: Event) => {
    event.preventDefault();
    setError(undefined);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (failure) {
      setError(new Error(`the event is not valid JSON: ${(failure as Error).message}`));
      return;
    }
    setBusy(true);
    try {
      setResult(await api<TestResult>('POST', `${base}/test`, { event: parsed, send }));
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section aria-labelledby="test-title">
      <h2 id="test-title">Test the app on an event</h2>
      <p class="hint">It runs in a sandbox of its own with this instance's config: nothing is stored, meta.cache and meta.storage start empty, and fetch requests are only recorded unless you send them.</p>
      <form onSubmit={run}>
        <label for="test-event">Event (JSON)</label>
        <textarea id="test-event" class="code" rows={14} spellcheck={false} value={text} onInput={(e) => setText(e.currentTarget.value)} />
        <div class="toolbar">
          <button type="button" onClick={loadLatest}>
            Use the latest stored event
          </button>
          <label>
            <input type="checkbox" checked={send} onChange={(e) => setSend(e.currentTarget.checked)} /> Send its fetch requests
          </label>
          <button type="submit" disabled={busy}>
            Run test
          </button>
        </div>
      </form>
      <ErrorNote error={error} />
      {result && <TestOutcome result={result} />}
    </section>
  );
}

function callText(call: { ok: boolean; error?: string; retry?: boolean }): string {
  return call.ok ? 'ok' : `${call.retry ? 'asked for a retry' : 'failed'}: ${call.error}`;
}

function TestOutcome({ result }: { result: TestResult }) {
  const summary = result.outcome === 'dropped' ? 'Dropped the event (processEvent returned null).' : result.outcome === 'error' ? `Failed: ${result.error}` : result.diff.length ? `Changed ${result.diff.length} field${result.diff.length === 1 ? '' : 's'}.` : 'Left the event unchanged.';
  return (
    <div class="test-result" aria-live="polite">
      <h3>Result</h3>
      <p class={`outcome outcome-${result.outcome}`}>{summary}</p>
      {result.diff.length > 0 && (
        <ul class="diff" aria-label="What the app changed">
          {result.diff.map((line) => (
            <li class={`diff-${line[0] === '+' ? 'added' : line[0] === '-' ? 'removed' : 'changed'}`}>{line}</li>
          ))}
        </ul>
      )}
      {result.onEvent && <p>onEvent: {callText(result.onEvent)}</p>}
      {result.exportEvents && <p>exportEvents: {callText(result.exportEvents)}</p>}
      <h3>Fetch requests ({result.fetches.length})</h3>
      {result.fetches.length > 0 && (
        <table class="list fetches">
          <TableHead columns={['Method', 'URL', 'Body', 'Sent']} />
          <tbody>
            {result.fetches.map((request) => (
              <tr>
                <td>{request.method}</td>
                <td class="message">{request.url}</td>
                <td class="message">{request.body ?? ''}</td>
                <td>{request.sent ? (request.error ? `failed: ${request.error}` : `answered ${request.status}`) : 'not sent'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h3>Logs ({result.logs.length})</h3>
      {result.logs.length > 0 && (
        <pre class="test-logs" tabIndex={0} aria-label="The app's log lines">
          {result.logs.map((line) => `${line.level}: ${line.message}`).join('\n')}
        </pre>
      )}
      <h3>Jobs it would enqueue ({result.jobs.length})</h3>
      {result.jobs.map((job) => (
        <p class="message">
          {job.name} at {new Date(job.runAt).toISOString()} with {JSON.stringify(job.payload)}
        </p>
      ))}
      <h3>Events it would capture ({result.captured.length})</h3>
      {result.captured.map((captured) => (
        <p class="message">{JSON.stringify(captured)}</p>
      ))}
    </div>
  );
}
