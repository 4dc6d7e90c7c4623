import { pino, type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs on stdout; one child per component so lines say where they come from. */
export function createLogger(level: string = process.env.SLUICE_LOG_LEVEL || 'info'): Logger {
  return pino({ level, base: { service: 'sluice' } });
}
