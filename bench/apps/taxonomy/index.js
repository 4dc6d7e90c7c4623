// Benchmark app: string work on every property of every event, changing only what needs it.
const words = (text) => text.replace(/([a-z0-9])([A-Z])/g, '$1 $2').split(/[^A-Za-z0-9]+/).filter(Boolean)
const capital = (word) => word.charAt(0).toUpperCase() + word.slice(1).toLowerCase()

const CONVENTIONS = {
    camelCase: (w) => w.map((word, i) => (i === 0 ? word.toLowerCase() : capital(word))).join(''),
    PascalCase: (w) => w.map(capital).join(''),
    snake_case: (w) => w.map((word) => word.toLowerCase()).join('_'),
    'kebab-case': (w) => w.map((word) => word.toLowerCase()).join('-'),
    'spaces in between': (w) => w.map((word) => word.toLowerCase()).join(' '),
}

// PostHog's own keys keep their leading $.
function snakeKey(key) {
    const prefix = key.startsWith('$') ? '$' : ''
    return prefix + CONVENTIONS.snake_case(words(key.slice(prefix.length)))
}

export function processEvent(event, { config }) {
    const convert = CONVENTIONS[config.defaultNamingConvention] || CONVENTIONS.camelCase
    // Like PostHog's taxonomy plugin: the event name, unless it is one of PostHog's own ($pageview…).
    if (!event.event.startsWith('$')) event.event = convert(words(event.event))
    const properties = event.properties
    for (const key of Object.keys(properties)) {
        const value = properties[key]
        const name = snakeKey(key)
        const clean = typeof value === 'string' ? value.trim() : value
        if (name !== key) {
            delete properties[key]
            properties[name] = clean
        } else if (clean !== value) {
            properties[key] = clean
        }
    }
    return event
}
