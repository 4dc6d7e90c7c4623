// Benchmark app: one meta.cache.get and one meta.cache.set awaited per event.
export async function processEvent(event, { cache }) {
    const key = `seen:${event.distinct_id}`
    const seen = await cache.get(key, 0)
    await cache.set(key, (seen || 0) + 1, 3600)
    event.properties.seen_before = seen || 0
    return event
}
