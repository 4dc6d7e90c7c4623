const { RetryError } = require('@posthog/plugin-scaffold')

// Delivers each event to the chaos recorder over HTTP: a destination as users write them.
module.exports = {
  onEvent: async (event, { config }) => {
    const response = await fetch(config.url + '/onevent', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ uuid: event.uuid }),
    })
    if (!response.ok) throw new RetryError('recorder answered ' + response.status)
  },
}
