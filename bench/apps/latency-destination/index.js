// Benchmark app: an onEvent destination that records how long each event took from the load
// generator's send (properties.bench_sent_at, ms since the epoch) to here. One meta.cache.incr per
// event on a key naming the bench phase, the second it arrived and its latency rounded down to
// two significant digits, so the bench reads a histogram per second instead of one key per event.
function bucket(ms) {
    if (ms < 100) return Math.max(0, Math.floor(ms))
    const step = 10 ** (Math.floor(Math.log10(ms)) - 1)
    return Math.floor(ms / step) * step
}

export async function onEvent(event, { cache }) {
    const sent = event.properties && event.properties.bench_sent_at
    if (typeof sent !== 'number') return
    const now = Date.now()
    await cache.incr(`bench-lat:${event.properties.bench_phase}:${Math.floor(now / 1000)}:${bucket(now - sent)}`)
}
