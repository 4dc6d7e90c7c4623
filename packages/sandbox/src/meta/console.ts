import type { AppLogLevel } from '@sluice/core';
import type { MetaCapability } from './types';

const LEVELS: AppLogLevel[] = ['debug', 'log', 'info', 'warn', 'error'];
/** One line of app output is capped: an app must not fill the log table with one call. */
const MAX_MESSAGE = 8 * 1024;

/** `console.*` inside the app: formatted in the VM like Node does, sent to the instance's logs. */
export const consoleMeta: MetaCapability = {
  name: 'console',
  install(vm, { onLog }) {
    const log = vm.newFunction('__host_log', (levelHandle, messageHandle) => {
      const level = vm.getString(levelHandle) as AppLogLevel;
      const message = vm.getString(messageHandle);
      onLog({
        timestamp: new Date().toISOString(),
        level: LEVELS.includes(level) ? level : 'log',
        message: message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE)}…` : message,
      });
    });
    vm.setProp(vm.global, '__host_log', log);
    log.dispose();
  },
  shim: () => String.raw`
    (function () {
      const hostLog = globalThis.__host_log;
      delete globalThis.__host_log;
      const format = (value) => {
        if (typeof value === 'string') return value;
        if (value instanceof Error) return value.stack ? value.name + ': ' + value.message + '\n' + value.stack : String(value);
        if (value === undefined || typeof value === 'function' || typeof value === 'symbol') return String(value);
        try { return JSON.stringify(value); } catch (error) { return String(value); }
      };
      const write = (level) => (...args) => hostLog(level, args.map(format).join(' '));
      globalThis.console = { log: write('log'), info: write('info'), warn: write('warn'), error: write('error'), debug: write('debug') };
    })();
  `,
};
