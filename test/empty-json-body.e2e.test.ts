import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, install } from './helpers/api';
import { ADMIN_TOKEN, startSluice, type RunningSluice } from './helpers/services';

/**
 * Many HTTP clients send `Content-Type: application/json` on every request, with no body on a
 * DELETE or a GET. That must mean "no body", never a 400 invalid_json, on every route.
 */
type OpenApi = { paths: Record<string, Record<string, { requestBody?: unknown }>> };

/** An empty body with a JSON content type, as such a client sends it. */
async function sendEmptyJson(url: string, method: string, path: string) {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json', 'content-length': '0' },
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

describe('an empty body with Content-Type: application/json means no body', () => {
  let sluice: RunningSluice;

  beforeAll(async () => {
    sluice = await startSluice();
  });

  afterAll(async () => {
    await sluice?.stop();
  });

  it('DELETE /api/projects/:id/apps/:instanceId removes the app', async () => {
    const { id } = await install(sluice.url, 'examples/hello-world');
    const answer = await sendEmptyJson(sluice.url, 'DELETE', `/api/projects/default/apps/${id}`);
    expect(answer).toEqual({ status: 204, body: undefined });
    const { body } = await admin(sluice.url, 'GET', '/api/projects/default/apps');
    expect(body.results.map((instance: { id: number }) => instance.id)).not.toContain(id);
  });

  it('is taken as no body on every route of every verb that takes none', async () => {
    const { id } = await install(sluice.url, 'examples/hello-world');
    const { body: openapi } = await admin<OpenApi>(sluice.url, 'GET', '/api/docs/json');
    const bodyless: Array<{ method: string; path: string }> = [];
    for (const [template, operations] of Object.entries(openapi.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        if (operation.requestBody) continue;
        const path = template.replace('{projectId}', 'default').replace('{instanceId}', String(id)).replace(/\{[^}]+\}/g, 'key');
        bodyless.push({ method: method.toUpperCase(), path: `/api${path.replace(/^\/api/, '')}` });
      }
    }
    // Removals last, so the routes before them still find the app.
    bodyless.sort((a, b) => Number(a.method === 'DELETE') - Number(b.method === 'DELETE'));
    expect(new Set(bodyless.map(({ method }) => method))).toEqual(new Set(['GET', 'POST', 'DELETE']));

    const answers: string[] = [];
    for (const { method, path } of bodyless) {
      const { status, body } = await sendEmptyJson(sluice.url, method, path);
      answers.push(`${method} ${path} → ${status} ${body?.error ?? ''}`.trim());
    }
    const refused = answers.filter((answer) => /invalid_json| 5\d\d /.test(answer));
    expect(refused, answers.join('\n')).toEqual([]);
  });

  it('a route that needs a body still says which field it misses', async () => {
    const answer = await sendEmptyJson(sluice.url, 'POST', '/api/projects');
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ error: 'invalid_request', details: { field: expect.any(String) } });
  });
});
