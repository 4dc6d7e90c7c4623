// Shape: what PostHog's plugin bundler emitted for TypeScript plugins — an object of functions
// as the default export (`export { plugin as default }`).
async function setupPlugin({ config, global }) {
  global.greeting = config.greeting
  console.log(`greeting set to "${config.greeting}"`)
}

async function processEvent(event, { global }) {
  if (!event.properties) event.properties = {}
  event.properties['greeting'] = global.greeting
  return event
}

const helloWorldPlugin = { setupPlugin, processEvent }

export { helloWorldPlugin as default }
