import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { build, type Message, type Plugin } from 'esbuild';
import { APP_CAPABILITIES, type AppCapability, type AppSource, type PluginJson } from '@sluice/core';
import { AppSourceError } from './errors';
import { parsePluginJson } from './plugin-json';

export interface CompiledApp {
  pluginJson: PluginJson;
  code: string;
  capabilities: AppCapability[];
  versionHash: string;
  /**
   * Modules the app requires inside a `try` that the sandbox does not have: installed anyway (as
   * PostHog did), their `require` throws when it runs. Install warns of them in the app's logs.
   */
  optionalModules: string[];
}

/**
 * Modules the VM provides through `require` (the prelude and meta/*.ts shims: `sluice.provide`);
 * anything else is refused at install. Node's built-ins also answer to their `node:` names.
 */
export const PROVIDED_MODULES = [
  '@posthog/plugin-scaffold', '@posthog/plugin-contrib', 'node-fetch',
  'crypto', 'node:crypto', 'url', 'node:url', 'zlib', 'node:zlib', 'buffer', 'node:buffer', 'stream', 'node:stream',
  // PostHog's network SDKs: host-side bridges (meta/pg.ts, aws-sdk.ts, google-storage.ts, bigquery.ts, pubsub.ts, snowflake.ts).
  'pg', 'aws-sdk', 'aws-sdk/clients/s3', 'aws-sdk/clients/kinesis',
  '@google-cloud/storage', '@google-cloud/bigquery', '@google-cloud/pubsub', 'snowflake-sdk',
  // jsonwebtoken runs on the host, synchronously (meta/jsonwebtoken.ts); generic-pool is bundled into the VM as it is.
  'jsonwebtoken', 'generic-pool',
];

function refusal(path: string): string {
  return `import of "${path}" is not available in the sandbox`;
}
const RESOLVE_SUFFIXES = ['', '.ts', '.js', '.mjs', '.cjs', '.json', '/index.ts', '/index.js'];
const NAMESPACE = 'app';

function entryFile(source: AppSource, pluginJson: PluginJson): string {
  const candidates = pluginJson.main ? [posix.normalize(pluginJson.main.replace(/^\.\//, ''))] : ['index.ts', 'index.js'];
  const entry = candidates.find((file) => source[file] !== undefined);
  if (!entry) {
    throw new AppSourceError(
      pluginJson.main ? `plugin.json: "main" names ${pluginJson.main}, which is not among the files` : 'index.ts or index.js is missing',
      pluginJson.main ? 'plugin.json' : 'index.js',
      pluginJson.main ? 'main' : undefined,
    );
  }
  return entry;
}

/** Resolves imports from the in-memory files only: the app cannot reach the host's file system. */
function appFilesPlugin(source: AppSource, unresolved: Set<string>): Plugin {
  return {
    name: 'sluice-app-files',
    setup(pluginBuild) {
      pluginBuild.onResolve({ filter: /.*/ }, (args) => {
        if (args.kind === 'entry-point') return { path: args.path, namespace: NAMESPACE };
        if (PROVIDED_MODULES.includes(args.path)) return { path: args.path, external: true };
        if (!args.path.startsWith('.') && !args.path.startsWith('/')) {
          // Left unresolved: the app's files have no resolveDir, so esbuild finds nothing on disk and
          // fails the import, except a require() inside a try, which it keeps as a runtime require
          // (the VM's require then throws, for the app's catch). bundle() names the refused module.
          unresolved.add(args.path);
          return undefined;
        }
        const base = posix.normalize(posix.join(posix.dirname(args.importer), args.path));
        const found = RESOLVE_SUFFIXES.map((suffix) => base + suffix).find((file) => source[file] !== undefined);
        if (!found) return { errors: [{ text: `cannot find "${args.path}" among the app's files` }] };
        return { path: found, namespace: NAMESPACE };
      });
      pluginBuild.onLoad({ filter: /.*/, namespace: NAMESPACE }, (args) => {
        const extension = posix.extname(args.path).slice(1);
        const loader = extension === 'ts' ? 'ts' : extension === 'json' ? 'json' : 'js';
        return { contents: source[args.path], loader };
      });
    },
  };
}

function toSourceError(message: Message | undefined, fallbackFile: string): AppSourceError {
  // esbuild names files of a plugin namespace "<namespace>:<path>"; the author knows the path.
  const file = message?.location?.file.replace(`${NAMESPACE}:`, '') ?? fallbackFile;
  const line = message?.location ? `:${message.location.line}:${message.location.column}` : '';
  const unresolved = message?.text.match(/^Could not resolve "(.+)"$/)?.[1];
  const text = unresolved !== undefined ? refusal(unresolved) : message?.text ?? 'cannot be compiled';
  return new AppSourceError(`${file}${line}: ${text}`, file);
}

/** The warning an install (and `sluice dev`) gives in the app's logs for its optional requires. */
export function optionalModulesWarning(optionalModules: string[]): string | undefined {
  if (optionalModules.length === 0) return undefined;
  const names = optionalModules.map((name) => `"${name}"`).join(', ');
  return `installed without ${names}: not available in the sandbox; the app's require() of ${optionalModules.length === 1 ? 'it' : 'them'} inside try will throw when it runs`;
}

/** sha256 over the files in name order: the app's version. */
export function versionHash(source: AppSource): string {
  const hash = createHash('sha256');
  for (const name of Object.keys(source).sort()) hash.update(name).update('\0').update(source[name]!).update('\0');
  return hash.digest('hex');
}

/**
 * Turns an app's files into one CommonJS bundle the VM evaluates: TypeScript compiled, relative
 * imports bundled, provided modules left to the VM's `require`, anything else refused by name.
 */
export async function bundleApp(source: AppSource, pluginJson: PluginJson): Promise<{ code: string; optionalModules: string[] }> {
  const entry = entryFile(source, pluginJson);
  const bundled = await bundle(source, entry);
  // esbuild gives no format to an entry with neither import/export nor require/module/exports: a
  // script whose functions are plain top-level declarations, as older catalogue apps are written.
  // PostHog's VM took those from the script's globals; here they become the module's exports.
  if (bundled.entryFormat !== undefined) return bundled;
  return bundle({ ...source, [entry]: source[entry] + scriptExportsFooter() }, entry);
}

/** For a script entry: each app function it declares at top level, exported under its name. */
function scriptExportsFooter(): string {
  const lines = APP_CAPABILITIES.map((name) => `if (typeof ${name} !== 'undefined') module.exports.${name} = ${name};`);
  return `\n;\n${lines.join('\n')}\n`;
}

async function bundle(source: AppSource, entry: string): Promise<{ code: string; entryFormat: string | undefined; optionalModules: string[] }> {
  const unresolved = new Set<string>();
  try {
    const result = await build({
      entryPoints: [entry],
      bundle: true,
      write: false,
      format: 'cjs',
      platform: 'neutral',
      target: 'es2020',
      mainFields: ['module', 'main'],
      plugins: [appFilesPlugin(source, unresolved)],
      logLevel: 'silent',
      metafile: true,
    });
    // The build succeeded, so every module left unresolved was a require() inside a try.
    return { code: result.outputFiles[0]!.text, entryFormat: result.metafile.inputs[`${NAMESPACE}:${entry}`]?.format, optionalModules: [...unresolved].sort() };
  } catch (error) {
    const failure = error as { errors?: Message[] };
    throw toSourceError(failure.errors?.[0], entry);
  }
}

export { parsePluginJson };
