import { useState } from 'preact/hooks';
import { SECRET_MASK, isFieldRequired, isFieldVisible, jsonValueProblem } from '@sluice/core/config-rules';
import { ApiFailure, api, segment, type ConfigField, type InstanceDetail } from './api';
import { ErrorNote, Markdown } from './components';

type Values = Record<string, string>;

const fieldId = (key: string) => `config-${key.replace(/[^\w-]/g, '_')}`;
const labelOf = (field: ConfigField) => field.name ?? field.key!;

/**
 * The instance's config form, made from plugin.json as PostHog's is: markdown blocks, strings,
 * choices, json (checked as typed), attachments (uploaded at once), hints, `required` and
 * PostHog's `required_if`/`visible_if` (the same rules the API applies, from @sluice/core), and
 * write-only secrets: shown as set, replaced or cleared, never read back.
 */
export function ConfigForm({ projectId, detail, onSaved }: { projectId: string; detail: InstanceDetail; onSaved: () => Promise<void> }) {
  const fields = detail.pluginJson.config ?? [];
  const [values, setValues] = useState<Values>(() => ({ ...detail.config }));
  const [problems, setProblems] = useState<Record<string, string>>({});
  const [error, setError] = useState<unknown>();
  const [saved, setSaved] = useState('');
  const set = (key: string, value: string) => {
    setValues((old) => ({ ...old, [key]: value }));
    setProblems(({ [key]: _gone, ...rest }) => rest);
  };
  const base = `/projects/${segment(projectId)}/apps/${detail.id}`;

  const check = (): Record<string, string> => {
    const found: Record<string, string> = {};
    for (const field of fields) {
      if (!field.key || field.type === 'attachment' || !isFieldVisible(field, values)) continue;
      const value = values[field.key] ?? '';
      if (value === '' && field.default === undefined && isFieldRequired(field, values)) found[field.key] = `${labelOf(field)} is required.`;
      const problem = field.type === 'json' ? jsonValueProblem(value) : undefined;
      if (problem) found[field.key] = `Not valid JSON: ${problem}`;
    }
    return found;
  };
  const submit = async (event: Event) => {
    event.preventDefault();
    setError(undefined);
    setSaved('');
    const found = check();
    setProblems(found);
    const first = Object.keys(found)[0];
    if (first) {
      document.getElementById(fieldId(first))?.focus();
      return;
    }
    const config = Object.fromEntries(fields.filter((field) => field.key && field.type !== 'attachment' && values[field.key] !== undefined).map((field) => [field.key!, values[field.key!]!]));
    try {
      await api('PATCH', base, { config });
      setSaved('Saved.');
      await onSaved();
    } catch (failure) {
      // The API names the field it refused: show the message there.
      const field = failure instanceof ApiFailure ? failure.details.field : undefined;
      if (field && fields.some((f) => f.key === field)) setProblems({ [field]: failure instanceof Error ? failure.message : String(failure) });
      setError(failure);
    }
  };

  return (
    <form class="config" onSubmit={submit} noValidate aria-labelledby="config-title">
      <h2 id="config-title">Configuration</h2>
      {fields.length === 0 && <p class="empty">This app has no config fields.</p>}
      {fields.map((field, index) => {
        if (!field.key) return field.markdown ? <Markdown key={`markdown-${index}`} text={field.markdown} /> : null;
        if (!isFieldVisible(field, values)) return null;
        return (
          <FieldRow key={field.key} field={field} required={isFieldRequired(field, values)} problem={problems[field.key]}>
            {field.type === 'attachment' ? (
              <AttachmentInput field={field} detail={detail} base={base} onChanged={onSaved} />
            ) : (
              <FieldInput field={field} value={values[field.key] ?? ''} onChange={(value) => set(field.key!, value)} invalid={problems[field.key] !== undefined} />
            )}
          </FieldRow>
        );
      })}
      <ErrorNote error={error} />
      <p role="status" class="status">
        {saved}
      </p>
      {fields.some((field) => field.key && field.type !== 'attachment') && <button type="submit">Save</button>}
    </form>
  );
}

function FieldRow({ field, required, problem, children }: { field: ConfigField; required: boolean; problem?: string; children: preact.ComponentChildren }) {
  const id = fieldId(field.key!);
  return (
    <div class={`field ${problem ? 'invalid' : ''}`}>
      <label for={id}>
        {labelOf(field)}
        {required && (
          <span class="required" aria-hidden="true">
            {' '}
            *
          </span>
        )}
        {required && <span class="visually-hidden"> (required)</span>}
        {field.secret && <span class="badge">secret</span>}
      </label>
      {children}
      {field.hint && (
        <div id={`${id}-hint`} class="hint">
          <Markdown text={field.hint} />
        </div>
      )}
      {problem && (
        <p id={`${id}-problem`} class="problem">
          {problem}
        </p>
      )}
    </div>
  );
}

function describedBy(field: ConfigField, invalid: boolean): string | undefined {
  const id = fieldId(field.key!);
  return [field.hint && `${id}-hint`, invalid && `${id}-problem`].filter(Boolean).join(' ') || undefined;
}

function FieldInput({ field, value, onChange, invalid }: { field: ConfigField; value: string; onChange: (value: string) => void; invalid: boolean }) {
  const id = fieldId(field.key!);
  const common = { id, 'aria-invalid': invalid || undefined, 'aria-describedby': describedBy(field, invalid) };
  const [replacing, setReplacing] = useState(false);
  if (field.secret && value === SECRET_MASK && !replacing) {
    // Write-only: the API never gives the value back, only that one is set.
    return (
      <span class="secret-set">
        <input {...common} type="text" readOnly value="(set)" />
        <button type="button" onClick={() => (setReplacing(true), onChange(''))}>
          Replace<span class="visually-hidden"> {labelOf(field)}</span>
        </button>
      </span>
    );
  }
  if (field.type === 'choice') {
    return (
      <select {...common} value={value} onChange={(e) => onChange(e.currentTarget.value)}>
        {value === '' && <option value="">(choose)</option>}
        {(field.choices ?? []).map((choice) => (
          <option value={choice}>{choice}</option>
        ))}
      </select>
    );
  }
  if (field.type === 'json') {
    const format = () => {
      if (jsonValueProblem(value) === undefined && value.trim() !== '') onChange(JSON.stringify(JSON.parse(value), null, 2));
    };
    return (
      <span class="json-editor">
        <textarea {...common} class="code" rows={8} spellcheck={false} value={value} onInput={(e) => onChange(e.currentTarget.value)} />
        <button type="button" onClick={format}>
          Format<span class="visually-hidden"> {labelOf(field)}</span>
        </button>
      </span>
    );
  }
  const onInput = (e: { currentTarget: HTMLInputElement }) => onChange(e.currentTarget.value);
  if (field.secret) return <input {...common} type="password" autocomplete="new-password" value={value} onInput={onInput} />;
  return <input {...common} type="text" autocomplete="off" value={value} placeholder={field.default} onInput={onInput} />;
}

function AttachmentInput({ field, detail, base, onChanged }: { field: ConfigField; detail: InstanceDetail; base: string; onChanged: () => Promise<void> }) {
  const key = field.key!;
  const current = detail.attachments.find((attachment) => attachment.key === key);
  const [error, setError] = useState<unknown>();
  const upload = async (file: File | undefined) => {
    if (!file) return;
    setError(undefined);
    try {
      await api('PUT', `${base}/attachments/${segment(key)}?fileName=${encodeURIComponent(file.name)}`, file, file.type || 'application/octet-stream');
      await onChanged();
    } catch (failure) {
      setError(failure);
    }
  };
  const remove = async () => {
    try {
      await api('DELETE', `${base}/attachments/${segment(key)}`);
      await onChanged();
    } catch (failure) {
      setError(failure);
    }
  };
  return (
    <span class="attachment">
      {current ? (
        <span class="attachment-current">
          {current.fileName} ({current.size} bytes){' '}
          <button type="button" onClick={remove}>
            Remove<span class="visually-hidden"> {labelOf(field)}</span>
          </button>
        </span>
      ) : (
        <span class="muted">no file yet</span>
      )}
      <input id={fieldId(key)} type="file" aria-describedby={describedBy(field, false)} onChange={(e) => upload(e.currentTarget.files?.[0])} />
      <ErrorNote error={error} />
    </span>
  );
}
