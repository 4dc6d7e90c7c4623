import type { AppLogLevel } from '@sluice/core';
import type { MetaCapability } from './types';
import { CONSOLE_JS } from '../vm-sources';

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
  shim: () => CONSOLE_JS,
};
