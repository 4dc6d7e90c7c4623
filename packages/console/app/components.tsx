import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { Marked } from 'marked';
import hljs from 'highlight.js/lib/core';
import javascript from 'highlight.js/lib/languages/javascript';
import typescript from 'highlight.js/lib/languages/typescript';
import json from 'highlight.js/lib/languages/json';
import { ApiFailure } from './api';

hljs.registerLanguage('javascript', javascript);
hljs.registerLanguage('typescript', typescript);
hljs.registerLanguage('json', json);

/** Something the page loads from the API, with its error and a way to load it again. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): { data?: T; error?: unknown; reload: () => Promise<void> } {
  const [state, setState] = useState<{ data?: T; error?: unknown }>({});
  const reload = useCallback(async () => {
    try {
      setState({ data: await load() });
    } catch (error) {
      setState((previous) => ({ data: previous.data, error }));
    }
  }, deps);
  useEffect(() => {
    setState({});
    void reload();
  }, [reload]);
  return { ...state, reload };
}

/** The API's error as a user reads it: its message, and the file, line or field it names. */
export function ErrorNote({ error }: { error: unknown }) {
  if (!error) return null;
  const failure = error instanceof ApiFailure ? error : undefined;
  const where = failure ? [failure.details.file, failure.details.line !== undefined ? `line ${failure.details.line}` : undefined, failure.details.field && `field "${failure.details.field}"`].filter(Boolean).join(', ') : '';
  return (
    <div class="error" role="alert">
      <strong>{failure ? `Refused (${failure.status} ${failure.code})` : 'Error'}:</strong> {(error as Error).message ?? String(error)}
      {where && <div class="where">at {where}</div>}
    </div>
  );
}

/** An on/off switch: a button with role="switch", so a keyboard and a screen reader both use it. */
export function Switch({ label, checked, onChange, disabled }: { label: string; checked: boolean; onChange: (next: boolean) => void; disabled?: boolean }) {
  return (
    <button type="button" role="switch" class="switch" aria-checked={checked} aria-label={label} disabled={disabled} onClick={() => onChange(!checked)}>
      <span class="knob" aria-hidden="true" />
      <span class="switch-text">{checked ? 'on' : 'off'}</span>
    </button>
  );
}

export function Page({ title, children, actions }: { title: string; children: ComponentChildren; actions?: ComponentChildren }) {
  useEffect(() => {
    document.title = `${title} · Sluice`;
  }, [title]);
  return (
    <section class="page" aria-labelledby="page-title">
      <header class="page-head">
        <h1 id="page-title">{title}</h1>
        {actions && <div class="actions">{actions}</div>}
      </header>
      {children}
    </section>
  );
}

/**
 * plugin.json's markdown blocks come from the app's author, so raw HTML in them is shown as text,
 * never run; links keep only http(s) and mailto addresses.
 */
const markdown = new Marked({
  gfm: true,
  renderer: {
    html: ({ text }) => escapeHtml(text),
    link: ({ href, text }) => (/^(https?:|mailto:)/i.test(href) ? `<a href="${escapeHtml(href)}" rel="noopener noreferrer" target="_blank">${escapeHtml(text)}</a>` : escapeHtml(text)),
    image: ({ text }) => escapeHtml(text),
  },
});

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

export function Markdown({ text }: { text: string }) {
  return <div class="markdown" dangerouslySetInnerHTML={{ __html: markdown.parse(text, { async: false }) }} />;
}

/** A file of an app, read only, highlighted by highlight.js (escapes the source it is given). */
export function SourceView({ name, text }: { name: string; text: string }) {
  const language = name.endsWith('.json') ? 'json' : name.endsWith('.ts') ? 'typescript' : 'javascript';
  const html = hljs.highlight(text, { language, ignoreIllegals: true }).value;
  return (
    <figure class="source">
      <figcaption>{name}</figcaption>
      <pre tabIndex={0} aria-label={`${name}, read only`}>
        <code class={`hljs language-${language}`} dangerouslySetInnerHTML={{ __html: html }} />
      </pre>
    </figure>
  );
}

export const formatTime = (iso: string) => new Date(iso).toLocaleString(undefined, { hour12: false });
export const formatRate = (perSecond: number | undefined) => (perSecond === undefined ? '–' : perSecond >= 100 ? perSecond.toFixed(0) : perSecond.toFixed(1));

/** A table's header row; a column given as `{ hidden }` has a name only screen readers read (a column of buttons). */
export function TableHead({ columns }: { columns: Array<string | { hidden: string }> }) {
  return (
    <thead>
      <tr>
        {columns.map((column) => (
          <th scope="col">{typeof column === 'string' ? column : <span class="visually-hidden">{column.hidden}</span>}</th>
        ))}
      </tr>
    </thead>
  );
}

/** A button that shows or hides the detail row under its row. */
export function ExpandButton({ expanded, onToggle, children }: { expanded: boolean; onToggle: () => void; children: ComponentChildren }) {
  return (
    <button type="button" aria-expanded={expanded} onClick={onToggle}>
      {children}
    </button>
  );
}

/** The row under a table row that an ExpandButton opened: one cell across the table. */
export function DetailRow({ columns, children }: { columns: number; children: ComponentChildren }) {
  return (
    <tr class="detail">
      <td colSpan={columns}>{children}</td>
    </tr>
  );
}

/** A value as indented JSON, scrollable and reachable by keyboard. */
export function JsonBlock({ value, label }: { value: unknown; label: string }) {
  return (
    <pre tabIndex={0} aria-label={label}>
      {JSON.stringify(value, null, 2)}
    </pre>
  );
}
