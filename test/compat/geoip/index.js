// Shape: an ES module, the course's first example of an app; reads MaxMind's City model from meta.geoip.
const props = {
  city_name: (r) => r.city && r.city.names && r.city.names.en,
  country_name: (r) => r.country && r.country.names && r.country.names.en,
  country_code: (r) => r.country && r.country.isoCode,
  continent_name: (r) => r.continent && r.continent.names && r.continent.names.en,
  continent_code: (r) => r.continent && r.continent.code,
  postal_code: (r) => r.postal && r.postal.code,
  latitude: (r) => r.location && r.location.latitude,
  longitude: (r) => r.location && r.location.longitude,
  time_zone: (r) => r.location && r.location.timeZone,
}

export async function processEvent(event, { geoip }) {
  const ip = event.properties.$ip || event.ip
  if (!ip || event.properties.$geoip_disable) return event
  const response = await geoip.locate(ip)
  if (!response) return event
  const location = {}
  for (const [name, read] of Object.entries(props)) {
    const value = read(response)
    if (value !== undefined && value !== null && value !== '') location[`$geoip_${name}`] = value
  }
  ;(response.subdivisions || []).forEach((subdivision, index) => {
    if (subdivision.isoCode) location[`$geoip_subdivision_${index + 1}_code`] = subdivision.isoCode
    if (subdivision.names && subdivision.names.en) location[`$geoip_subdivision_${index + 1}_name`] = subdivision.names.en
  })
  Object.assign(event.properties, location)
  event.properties.$set = { ...(event.properties.$set || {}), ...location }
  event.properties.$set_once = { ...(event.properties.$set_once || {}), ...Object.fromEntries(Object.entries(location).map(([k, v]) => [k.replace('$geoip_', '$initial_geoip_'), v])) }
  return event
}
