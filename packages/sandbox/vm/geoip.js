// @ts-check
// Meta shim, called with meta: meta.geoip (src/meta/geoip.ts).
(function (meta) {
  const request = globalThis.__sluice_channel.request;
  const host = (ip) => request('geoip', ip);
  const parse = JSON.parse;
  meta.geoip = {
    locate: (ip) => Promise.resolve().then(() => {
      if (typeof ip !== 'string') throw new TypeError('meta.geoip.locate: the IP must be a string');
      return host(ip);
    }).then((json) => parse(json)),
  };
})
