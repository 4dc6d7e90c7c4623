import { useState } from 'preact/hooks';
import { api, segment, type Project } from '../api';
import { ErrorNote, Page, Switch, TableHead, useLoad } from '../components';
import { href } from '../router';

export function ProjectsPage() {
  const projects = useLoad(() => api<{ results: Project[] }>('GET', '/projects'), []);
  const [error, setError] = useState<unknown>();
  // While a change is saved the controls wait: a second click would act on the state before it.
  const [saving, setSaving] = useState(false);
  const act = async (action: () => Promise<unknown>) => {
    setError(undefined);
    setSaving(true);
    try {
      await action();
      await projects.reload();
    } catch (failure) {
      setError(failure);
    } finally {
      setSaving(false);
    }
  };
  return (
    <Page title="Projects">
      <ErrorNote error={projects.error ?? error} />
      <table class="list">
        <caption class="visually-hidden">Projects</caption>
        <TableHead columns={['Project', 'Token', 'Anonymize IPs', { hidden: 'Actions' }]} />
        <tbody>
          {projects.data?.results.map((project) => (
            <tr key={project.id}>
              <th scope="row">
                <a href={href({ page: 'pipeline', projectId: project.id })}>{project.name}</a> <span class="muted">({project.id})</span>
              </th>
              <td>
                <TokenCell project={project} />
              </td>
              <td>
                <Switch label={`Anonymize IPs of ${project.name}`} checked={project.anonymizeIps} disabled={saving} onChange={(anonymizeIps) => act(() => api('PATCH', `/projects/${segment(project.id)}`, { anonymizeIps }))} />
              </td>
              <td>
                <button
                  type="button"
                  onClick={() => confirm(`Give ${project.name} a new token? Clients sending the old one are refused at once.`) && act(() => api('POST', `/projects/${segment(project.id)}/rotate-token`))}
                >
                  Rotate token<span class="visually-hidden"> of {project.name}</span>
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <CreateProject onCreated={projects.reload} />
    </Page>
  );
}

function TokenCell({ project }: { project: Project }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    // The Clipboard API needs a secure context (HTTPS or localhost); elsewhere the token is selectable.
    await navigator.clipboard?.writeText(project.token);
    setCopied(true);
    setTimeout(() => setCopied(false), 1500);
  };
  return (
    <span class="token">
      <code>{project.token}</code>{' '}
      <button type="button" onClick={copy} disabled={!navigator.clipboard}>
        {copied ? 'Copied' : 'Copy'}
        <span class="visually-hidden"> token of {project.name}</span>
      </button>
    </span>
  );
}

function CreateProject({ onCreated }: { onCreated: () => Promise<void> }) {
  const [name, setName] = useState('');
  const [error, setError] = useState<unknown>();
  const submit = async (event: Event) => {
    event.preventDefault();
    setError(undefined);
    try {
      await api('POST', '/projects', { name });
      setName('');
      await onCreated();
    } catch (failure) {
      setError(failure);
    }
  };
  return (
    <form class="inline-form" onSubmit={submit} aria-labelledby="create-project">
      <h2 id="create-project">New project</h2>
      <label for="project-name">Name</label>
      <input id="project-name" required value={name} onInput={(e) => setName(e.currentTarget.value)} />
      <button type="submit">Create</button>
      <ErrorNote error={error} />
    </form>
  );
}
