// Shape: CommonJS, `module.exports = plugin` (an object of async functions).
//
// The original keeps "seen" flags in meta.storage (the names it sets are is_first_event_ever and
// is_first_event_for_user; its README spells them is_event_first_*, the code is what users got).
// This one also keeps a copy of each flag in meta.cache, read first, so a seen event costs one
// Redis round trip instead of a Postgres query; storage stays the source of truth.

const seen = async (key, { cache, storage }) => {
  if (await cache.get(`seen:${key}`, false)) return true
  const stored = await storage.get(key, false)
  if (stored) await cache.set(`seen:${key}`, true, 24 * 3600)
  return Boolean(stored)
}

const remember = async (key, { cache, storage }) => {
  await storage.set(key, true)
  await cache.set(`seen:${key}`, true, 24 * 3600)
}

const plugin = {
  async setupPlugin({ config, global }) {
    global.eventsToTrack = new Set(config.events.split(','))
  },

  async processEvent(event, meta) {
    if (!meta.global.eventsToTrack.has(event.event)) return event
    if (!event.properties) event.properties = {}
    const userKey = `${event.event}_${event.distinct_id}`
    const [seenEver, seenForUser] = await Promise.all([seen(event.event, meta), seen(userKey, meta)])
    event.properties['is_first_event_ever'] = !seenEver
    event.properties['is_first_event_for_user'] = !seenForUser
    if (!seenForUser) {
      await remember(userKey, meta)
      if (!seenEver) await remember(event.event, meta)
    }
    return event
  },
}

module.exports = plugin
