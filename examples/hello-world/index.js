// PostHog's app crash course, unchanged: greet every event.
export function processEvent(event, { config }) {
    event.properties['hello'] = `Hello ${config.name || 'world'}`
    return event
}
