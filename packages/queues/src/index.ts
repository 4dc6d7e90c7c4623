export * from './names';
export * from './jobs';
export * from './connection';
export * from './producer';
export * from './worker-set';
export * from './pipeline-bus';
export * from './redis-server';
