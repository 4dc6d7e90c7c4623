const { RetryError } = require('@posthog/plugin-scaffold')

// Delivers each batch to the chaos recorder over HTTP.
module.exports = {
  exportEvents: async (events, { config }) => {
    const response = await fetch(config.url + '/export', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ uuids: events.map((event) => event.uuid) }),
    })
    if (!response.ok) throw new RetryError('recorder answered ' + response.status)
  },
}
