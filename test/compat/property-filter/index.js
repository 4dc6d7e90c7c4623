// Shape: CommonJS, `module.exports = { setupPlugin, processEvent }`.

function setupPlugin({ config, global }) {
  // As the original: split on commas, no trimming.
  global.propertiesToFilter = config.properties.split(',')
}

/** Deletes the key at `path` (["$set", "email"]) when every step of it exists. */
function removePath(target, path) {
  let node = target
  for (let i = 0; i < path.length - 1; i++) {
    if (node === null || typeof node !== 'object' || !(path[i] in node)) return
    node = node[path[i]]
  }
  const last = path[path.length - 1]
  if (node !== null && typeof node === 'object' && last in node) delete node[last]
}

function processEvent(event, { global }) {
  const properties = event.properties ? { ...event.properties } : {}
  for (const property of global.propertiesToFilter) {
    if (property === '$ip') event.ip = null
    removePath(properties, property.split('.'))
  }
  return { ...event, properties }
}

module.exports = { setupPlugin, processEvent }
