// Parse the list once per instance (setupPlugin), not once per event.
export function setupPlugin({ config, global }) {
    global.eventsToDrop = new Set(
        (config.eventsToDrop || '').split(',').map((name) => name.trim()).filter(Boolean)
    )
}

export function processEvent(event, { global }) {
    return global.eventsToDrop.has(event.event) ? null : event
}
