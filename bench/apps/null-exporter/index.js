// Benchmark app: an exportEvents destination that takes every batch and does nothing with it.
export function exportEvents(events) {
    return events.length
}
