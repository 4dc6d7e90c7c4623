// Shape: the deprecated processEventBatch (the original plugin exported only this), ES module.

const SKIPPED = ['survey shown', 'survey sent', 'survey dismissed']

/** The words of a name in any of the supported patterns: helloThere, HelloThere, hello_there, hello-there, hello there. */
function words(name) {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[\s_-]+/)
    .filter(Boolean)
    .map((word) => word.toLowerCase())
}

const capitalize = (word) => word.charAt(0).toUpperCase() + word.slice(1)

const CONVENTIONS = {
  camelCase: (w) => w[0] + w.slice(1).map(capitalize).join(''),
  PascalCase: (w) => w.map(capitalize).join(''),
  snake_case: (w) => w.join('_'),
  'kebab-case': (w) => w.join('-'),
  'spaces in between': (w) => w.join(' '),
}

function standardize(name, convention) {
  const w = words(name)
  return w.length === 0 ? name : CONVENTIONS[convention](w)
}

export function processEventBatch(events, { config }) {
  const convention = CONVENTIONS[config.defaultNamingConvention] ? config.defaultNamingConvention : 'camelCase'
  for (const event of events) {
    if (typeof event.event !== 'string' || event.event.startsWith('$') || SKIPPED.includes(event.event)) continue
    event.event = standardize(event.event, convention)
  }
  return events
}
