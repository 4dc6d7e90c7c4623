import { useState } from 'preact/hooks';
import { api, segment, type Instance } from '../api';
import { ErrorNote, Page } from '../components';
import { navigate } from '../router';

type Mode = 'archive' | 'folder' | 'paste';

const EXAMPLE_PLUGIN_JSON = JSON.stringify({ name: 'My app', config: [{ key: 'greeting', name: 'Greeting', type: 'string', default: 'hello' }] }, null, 2);
const EXAMPLE_SOURCE = `export function processEvent(event, { config }) {\n  event.properties = { ...event.properties, greeting: config.greeting }\n  return event\n}\n`;

/** Files a folder upload leaves out: dependencies and VCS data are not the app's sources. */
const SKIPPED = /(^|\/)(node_modules|\.git)\//;

/**
 * Installs an app into the project, disabled: its config form comes next (required values may be
 * missing until then), and it is enabled from there or from the pipeline.
 */
export function InstallPage({ projectId }: { projectId: string }) {
  const [mode, setMode] = useState<Mode>('archive');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const install = async (send: (path: string) => Promise<Instance>) => {
    setError(undefined);
    setBusy(true);
    try {
      const instance = await send(`/projects/${segment(projectId)}/apps`);
      navigate({ page: 'instance', projectId, instanceId: instance.id, tab: 'config' });
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Page title="Install an app">
      <p>An app is PostHog's plugin format: a <code>plugin.json</code> and an <code>index.js</code> or <code>index.ts</code>. It is installed disabled; configure it, then enable it.</p>
      <fieldset class="modes">
        <legend>From</legend>
        {(
          [
            ['archive', 'a .zip or .tgz'],
            ['folder', 'a folder'],
            ['paste', 'pasted files'],
          ] as const
        ).map(([value, label]) => (
          <label>
            <input type="radio" name="mode" value={value} checked={mode === value} onChange={() => setMode(value)} /> {label}
          </label>
        ))}
      </fieldset>
      {mode === 'archive' && <ArchiveForm busy={busy} onInstall={install} />}
      {mode === 'folder' && <FolderForm busy={busy} onInstall={install} />}
      {mode === 'paste' && <PasteForm busy={busy} onInstall={install} />}
      <ErrorNote error={error} />
    </Page>
  );
}

type FormProps = { busy: boolean; onInstall: (send: (path: string) => Promise<Instance>) => Promise<void> };

function ArchiveForm({ busy, onInstall }: FormProps) {
  const [file, setFile] = useState<File>();
  const submit = (event: Event) => {
    event.preventDefault();
    if (!file) return;
    const type = file.name.endsWith('.zip') ? 'application/zip' : 'application/gzip';
    void onInstall((path) => api<Instance>('POST', `${path}?enabled=false`, file, type));
  };
  return (
    <form onSubmit={submit}>
      <label for="archive">App archive (.zip, .tgz, .tar.gz)</label>
      <input id="archive" type="file" accept=".zip,.tgz,.tar.gz,application/zip,application/gzip" required onChange={(e) => setFile(e.currentTarget.files?.[0])} />
      <button type="submit" disabled={busy || !file}>Install</button>
    </form>
  );
}

function FolderForm({ busy, onInstall }: FormProps) {
  const [files, setFiles] = useState<File[]>([]);
  const submit = async (event: Event) => {
    event.preventDefault();
    const source: Record<string, string> = {};
    for (const file of files) {
      // webkitRelativePath is "<folder>/<path>": the app's files are what is inside the folder.
      const path = file.webkitRelativePath.split('/').slice(1).join('/') || file.name;
      if (!SKIPPED.test(`${path}`)) source[path] = await file.text();
    }
    void onInstall((path) => api<Instance>('POST', path, { source, enabled: false }));
  };
  return (
    <form onSubmit={submit}>
      <label for="folder">App folder</label>
      <input id="folder" type="file" {...{ webkitdirectory: '' }} multiple required onChange={(e) => setFiles([...(e.currentTarget.files ?? [])])} />
      <p class="hint">{files.length > 0 ? `${files.length} files chosen` : 'node_modules and .git are left out.'}</p>
      <button type="submit" disabled={busy || files.length === 0}>Install</button>
    </form>
  );
}

function PasteForm({ busy, onInstall }: FormProps) {
  const [pluginJson, setPluginJson] = useState(EXAMPLE_PLUGIN_JSON);
  const [fileName, setFileName] = useState('index.js');
  const [code, setCode] = useState(EXAMPLE_SOURCE);
  const submit = (event: Event) => {
    event.preventDefault();
    void onInstall((path) => api<Instance>('POST', path, { source: { 'plugin.json': pluginJson, [fileName]: code }, enabled: false }));
  };
  return (
    <form onSubmit={submit} class="paste">
      <label for="plugin-json">plugin.json</label>
      <textarea id="plugin-json" rows={10} spellcheck={false} value={pluginJson} onInput={(e) => setPluginJson(e.currentTarget.value)} />
      <label for="file-name">Source file</label>
      <select id="file-name" value={fileName} onChange={(e) => setFileName(e.currentTarget.value)}>
        <option value="index.js">index.js</option>
        <option value="index.ts">index.ts</option>
      </select>
      <label for="source">Source</label>
      <textarea id="source" rows={16} spellcheck={false} value={code} onInput={(e) => setCode(e.currentTarget.value)} />
      <button type="submit" disabled={busy}>Install</button>
    </form>
  );
}
