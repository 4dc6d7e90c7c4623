// Benchmark app: an onEvent destination that takes every event and does nothing with it.
export function onEvent(event) {
    return event.uuid
}
