// @ts-check
// Meta shim, called with { appName }: the posthog global (src/meta/posthog.ts).
(function (settings) {
  const request = globalThis.__sluice_channel.request;
  const host = (json) => request('capture', json);
  const stringify = JSON.stringify;
  const appName = settings.appName;
  const unavailable = (name) => () => Promise.reject(new Error('posthog.api.' + name + ' is not available in Sluice: it called PostHog\'s REST API'));
  globalThis.posthog = {
    capture(event, properties) {
      return Promise.resolve().then(() => {
        if (typeof event !== 'string' || event === '') throw new TypeError('posthog.capture: the event name must be a non-empty string');
        const props = Object.assign({}, properties || {});
        const distinctId = props.distinct_id === undefined || props.distinct_id === null ? appName : String(props.distinct_id);
        const timestamp = props.timestamp === undefined ? new Date().toISOString() : String(props.timestamp);
        delete props.timestamp;
        const json = stringify({
          event,
          distinct_id: distinctId,
          timestamp,
          properties: Object.assign({ $lib: 'posthog-plugin-server' }, props, { distinct_id: distinctId }),
        });
        if (json === undefined) throw new TypeError('posthog.capture: the properties are not JSON-serializable');
        return host(json);
      });
    },
    api: { get: unavailable('get'), post: unavailable('post'), put: unavailable('put'), delete: unavailable('delete') },
  };
})
