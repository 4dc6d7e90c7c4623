// Benchmark app: CPU-bound work on every event (rounds of FNV-1a over its JSON), so a stage's
// throughput is bounded by the cores its workers get, not by Redis or the store.
const ROUNDS = 40

export function processEvent(event) {
    const text = JSON.stringify(event.properties)
    let hash = 0x811c9dc5
    for (let round = 0; round < ROUNDS; round++) {
        for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193)
    }
    event.properties.cpu_heavy_hash = hash >>> 0
    return event
}
