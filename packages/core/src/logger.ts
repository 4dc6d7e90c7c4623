import { createRequire } from 'node:module';
import { pino, type Logger } from 'pino';

export type { Logger };

/** auto: readable lines when stdout is a terminal, JSON lines otherwise (containers, files, pipes). */
export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Structured logs on stdout; one child per component so lines say where they come from. */
export function createLogger(level: string = process.env.SLUICE_LOG_LEVEL || 'info', format: LogFormat = 'auto'): Logger {
  const options = { level, base: { service: 'sluice' } };
  const pretty = format === 'pretty' || (format === 'auto' && process.stdout.isTTY === true);
  return pretty ? pino(options, prettyStream()) : pino(options);
}

/**
 * pino-pretty, loaded only for a terminal (JSON output never pays for it). A stream in this
 * process (colored where the terminal supports it, NO_COLOR respected), written synchronously: lines keep their order with the rest of the output and none
 * are lost when the process exits, which a transport's thread does not promise.
 */
function prettyStream(): NodeJS.WritableStream {
  const build = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty');
  return build({ singleLine: true, sync: true, ignore: 'service', translateTime: 'SYS:HH:MM:ss.l' });
}
