import { isDestination, isStage, type AppInstance } from './app';
import type { Route } from './route';

/**
 * Each process's view of the projects' pipelines: loaded once per project, dropped when the
 * pipeline bus says it changed, so routes are resolved without a database query per request.
 */
export class PipelineCache {
  private readonly cache = new Map<string, Promise<AppInstance[]>>();
  /** Each load's route, keyed by the load itself: dropped with it, never outliving an invalidation. */
  private readonly routes = new WeakMap<Promise<AppInstance[]>, { promise: Promise<Route>; value?: Route }>();

  constructor(private readonly load: (projectId: string) => Promise<AppInstance[]>) {}

  instances(projectId: string): Promise<AppInstance[]> {
    let entry = this.cache.get(projectId);
    if (!entry) {
      entry = this.load(projectId);
      this.cache.set(projectId, entry);
      // A failed load must not stick: the next call tries again.
      entry.catch(() => this.cache.delete(projectId));
    }
    return entry;
  }

  invalidate(projectId: string): void {
    this.cache.delete(projectId);
  }

  /**
   * The enabled processEvent stages, in the project's order. Kept beside the instances (the
   * intake asks for it on every request): callers must not change the array.
   */
  route(projectId: string): Promise<Route> {
    const instances = this.instances(projectId);
    let route = this.routes.get(instances);
    if (!route) {
      const entry: { promise: Promise<Route>; value?: Route } = {
        promise: instances.then((loaded) => {
          entry.value = loaded
            .filter((instance) => instance.enabled && isStage(instance.capabilities))
            .map((instance) => ({ instanceId: instance.id, appId: instance.appId }));
          return entry.value;
        }),
      };
      route = entry;
      this.routes.set(instances, route);
    }
    return route.promise;
  }

  /** The route when it is loaded already, without a promise; undefined until then. */
  peekRoute(projectId: string): Route | undefined {
    const instances = this.cache.get(projectId);
    return instances && this.routes.get(instances)?.value;
  }

  /** The enabled instances that receive stored events (onEvent/exportEvents). */
  async destinations(projectId: string): Promise<AppInstance[]> {
    const instances = await this.instances(projectId);
    return instances.filter((instance) => instance.enabled && isDestination(instance.capabilities));
  }
}
