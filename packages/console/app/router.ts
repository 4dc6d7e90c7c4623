import { useEffect, useState } from 'preact/hooks';

/**
 * The console's pages live in the URL's hash (`#/projects/default/pipeline`): the server serves one
 * index.html, and every page has an address to bookmark or share.
 */
export type Route =
  | { page: 'projects' }
  | { page: 'pipeline'; projectId: string }
  | { page: 'install'; projectId: string }
  | { page: 'instance'; projectId: string; instanceId: number; tab: 'config' | 'logs' | 'metrics' | 'source' | 'test' }
  | { page: 'dead-letters'; projectId: string }
  | { page: 'events'; projectId: string }
  | { page: 'not-found'; path: string };

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '') || '/projects';
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts.length === 1 && parts[0] === 'projects') return { page: 'projects' };
  if (parts[0] === 'projects' && parts[1]) {
    const projectId = parts[1];
    if (parts[2] === 'pipeline' && parts.length === 3) return { page: 'pipeline', projectId };
    if (parts[2] === 'install' && parts.length === 3) return { page: 'install', projectId };
    if (parts[2] === 'dead-letters' && parts.length === 3) return { page: 'dead-letters', projectId };
    if (parts[2] === 'events' && parts.length === 3) return { page: 'events', projectId };
    if (parts[2] === 'apps' && /^\d+$/.test(parts[3] ?? '')) {
      const tab = parts[4] ?? 'config';
      if (tab === 'config' || tab === 'logs' || tab === 'metrics' || tab === 'source' || tab === 'test') return { page: 'instance', projectId, instanceId: Number(parts[3]), tab };
    }
  }
  return { page: 'not-found', path };
}

export function href(route: Exclude<Route, { page: 'not-found' }>): string {
  const project = 'projectId' in route ? `/projects/${encodeURIComponent(route.projectId)}` : '';
  switch (route.page) {
    case 'projects':
      return '#/projects';
    case 'instance':
      return `#${project}/apps/${route.instanceId}${route.tab === 'config' ? '' : `/${route.tab}`}`;
    default:
      return `#${project}/${route.page}`;
  }
}

export function navigate(route: Exclude<Route, { page: 'not-found' }>): void {
  location.hash = href(route);
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const changed = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', changed);
    return () => removeEventListener('hashchange', changed);
  }, []);
  return route;
}
