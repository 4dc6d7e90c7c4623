import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CliError } from '../admin-client';

const USAGE = 'usage: sluice new app <dir> [--ts] [--name "App name"]';

function pluginJson(name: string): string {
  const json = {
    name,
    description: 'Adds a greeting to every event.',
    config: [{ key: 'greeting', name: 'Greeting', type: 'string', default: 'Hello', required: false }],
  };
  return `${JSON.stringify(json, null, 2)}\n`;
}

function indexSource(ts: boolean): string {
  const signature = ts
    ? `import type { PluginEvent, PluginMeta } from '@sluice/app-sdk';\n\nexport function processEvent(event: PluginEvent, { config }: PluginMeta): PluginEvent | null {`
    : `/** @param {import('@sluice/app-sdk').PluginEvent} event */\nexport function processEvent(event, { config }) {`;
  return `${signature}
  // Return the event (changed or not) to pass it on, or null to drop it.
  if (event.event === 'drop me') return null;
  event.properties = { ...event.properties, greeting: \`\${config.greeting} \${event.distinct_id}\` };
  return event;
}
`;
}

function testSource(): string {
  return `import { describe, expect, it } from 'vitest';
import { createEvent, loadApp, runProcessEvent } from '@sluice/app-sdk';

// Runs the app in the same sandbox as the pipeline, with its plugin.json config applied.
describe('processEvent', () => {
  it('greets the person, and drops what it should', async () => {
    const app = await loadApp(import.meta.dirname, { config: { greeting: 'Hi' } });
    const event = await runProcessEvent(app, createEvent({ distinct_id: 'ada' }));
    expect(event?.properties.greeting).toBe('Hi ada');
    expect(await runProcessEvent(app, createEvent({ event: 'drop me' }))).toBeNull();
    await app.dispose();
  });
});
`;
}

function readme(name: string, dir: string): string {
  return `# ${name}

A Sluice app (PostHog's plugin format): \`plugin.json\` declares it and its config, \`index\` exports
the functions (\`processEvent\`, \`onEvent\`, \`exportEvents\`, \`jobs\`, \`runEveryMinute\`, …).

- Try it on events: \`sluice dev ${dir} --events events.jsonl --config greeting=Hi\`
- Test it (vitest, the real sandbox): \`vitest run ${dir}\`
- Install it: \`sluice apps install ${dir} --project default --config greeting=Hi\`
`;
}

/** `sluice new app <dir> [--ts]`: a working app to start from — plugin.json, index, a test, a README. */
export async function newCommand(args: string[], out: NodeJS.WritableStream = process.stdout): Promise<void> {
  const [what, ...rest] = args;
  const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { ts: { type: 'boolean', default: false }, name: { type: 'string' } } });
  const dir = positionals[0];
  if (what !== 'app' || !dir) throw new CliError(USAGE);
  if (existsSync(dir) && (await readdir(dir)).length > 0) throw new CliError(`${dir}: the folder exists and is not empty; choose a new one`);
  const name = values.name ?? basename(resolve(dir)).replace(/[-_]+/g, ' ').replace(/\b\w/g, (c) => c.toUpperCase());
  const ext = values.ts ? 'ts' : 'js';
  await mkdir(dir, { recursive: true });
  const files: Record<string, string> = {
    'plugin.json': pluginJson(name),
    [`index.${ext}`]: indexSource(values.ts!),
    [`index.test.${ext}`]: testSource(),
    'README.md': readme(name, dir),
  };
  for (const [file, content] of Object.entries(files)) await writeFile(join(dir, file), content);
  out.write(`created ${dir}: ${Object.keys(files).join(', ')}\nnext: sluice dev ${dir} --events <file.jsonl>\n`);
}
