// Benchmark app: drops one event in ten, chosen by a hash of its uuid, so every mode and every
// rerun of the same uuids drops the same events (and the load generator can count the survivors).
function fnv1a(text) {
    let hash = 0x811c9dc5
    for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193)
    return hash >>> 0
}

export function processEvent(event) {
    return fnv1a(event.uuid) % 10 === 0 ? null : event
}
