import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, whenLoggedOut } from './api';
import { href, useRoute, type Route } from './router';
import { LoginPage } from './pages/login';
import { ProjectsPage } from './pages/projects';
import { PipelinePage } from './pages/pipeline';
import { InstallPage } from './pages/install';
import { InstancePage } from './pages/instance';
import { DeadLettersPage } from './pages/dead-letters';
import { LiveEventsPage } from './pages/live-events';
import './style.css';

type Session = 'checking' | 'out' | { expiresAt: string };

function App() {
  const [session, setSession] = useState<Session>('checking');
  const route = useRoute();
  useEffect(() => {
    whenLoggedOut(() => setSession('out'));
    api<{ expiresAt: string }>('GET', '/session').then(setSession, () => setSession('out'));
  }, []);
  if (session === 'checking') return <p class="loading">Loading…</p>;
  if (session === 'out') return <LoginPage onLoggedIn={setSession} />;
  const logout = async () => {
    await api('DELETE', '/session').catch(() => undefined);
    setSession('out');
  };
  return (
    <>
      <a class="skip" href="#main">Skip to content</a>
      <header class="top">
        <a class="brand" href="#/projects">Sluice</a>
        <ProjectNav route={route} />
        <button type="button" class="link" onClick={logout}>Log out</button>
      </header>
      <main id="main" tabIndex={-1}>
        <CurrentPage route={route} />
      </main>
    </>
  );
}

function ProjectNav({ route }: { route: Route }) {
  if (!('projectId' in route)) {
    return (
      <nav aria-label="Console">
        <a href="#/projects" aria-current={route.page === 'projects' ? 'page' : undefined}>
          Projects
        </a>
      </nav>
    );
  }
  const { projectId } = route;
  const links = [
    { label: 'Pipeline', to: href({ page: 'pipeline', projectId }), current: route.page === 'pipeline' || route.page === 'instance' },
    { label: 'Install an app', to: href({ page: 'install', projectId }), current: route.page === 'install' },
    { label: 'Live events', to: href({ page: 'events', projectId }), current: route.page === 'events' },
    { label: 'Dead letters', to: href({ page: 'dead-letters', projectId }), current: route.page === 'dead-letters' },
  ];
  return (
    <nav aria-label="Project">
      <a href="#/projects">Projects</a>
      <span class="project-name" aria-label="current project">{projectId}</span>
      {links.map((link) => (
        <a href={link.to} aria-current={link.current ? 'page' : undefined}>
          {link.label}
        </a>
      ))}
    </nav>
  );
}

function CurrentPage({ route }: { route: Route }) {
  switch (route.page) {
    case 'projects':
      return <ProjectsPage />;
    case 'pipeline':
      return <PipelinePage projectId={route.projectId} />;
    case 'install':
      return <InstallPage projectId={route.projectId} />;
    case 'instance':
      return <InstancePage projectId={route.projectId} instanceId={route.instanceId} tab={route.tab} />;
    case 'dead-letters':
      return <DeadLettersPage projectId={route.projectId} />;
    case 'events':
      return <LiveEventsPage projectId={route.projectId} />;
    case 'not-found':
      return (
        <section class="page">
          <h1>No such page</h1>
          <p>
            Nothing lives at <code>{route.path}</code>. <a href="#/projects">Go to the projects</a>.
          </p>
        </section>
      );
  }
}

render(<App />, document.getElementById('app')!);
