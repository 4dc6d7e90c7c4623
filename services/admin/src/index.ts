export { adminRoutes, type AdminDeps } from './admin-routes';
export { bootstrap, type BootstrapResult } from './bootstrap';
export { consoleRoutes } from './console-routes';
