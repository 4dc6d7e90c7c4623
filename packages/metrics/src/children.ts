import type { Counter } from 'prom-client';

/**
 * A counter's labelled children, kept by their label values: `counter.inc(labels)` hashes the
 * label object on every call, which showed on the intake's per-request path. Only for label values
 * drawn from a bounded set (routes, statuses, projects): every distinct one is kept for good.
 */
export function counterChildren<T extends string>(counter: Counter<T>): (labels: Record<T, string>) => Counter.Internal {
  const children = new Map<string, Counter.Internal>();
  return (labels) => {
    const key = Object.values(labels).join('\u0000');
    let child = children.get(key);
    if (!child) {
      child = counter.labels(labels);
      children.set(key, child);
    }
    return child;
  };
}
