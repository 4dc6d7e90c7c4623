function roundToDigits(number, digits) {
  return Math.round(number * Math.pow(10, digits)) / Math.pow(10, digits)
}

/** Fetches the latest rates (base USD) and keeps them in meta.storage for every process of the instance. */
async function fetchRates({ config, storage }) {
  const url = `${config.ratesUrl}?app_id=${encodeURIComponent(config.openExchangeRatesApiKey)}`
  const response = await fetch(url)
  if (!response.ok) throw new Error(`Error fetching currency rates: HTTP ${response.status}`)
  const json = await response.json()
  if (!json || typeof json.rates !== 'object') throw new Error('Error fetching currency rates: no rates in the answer')
  await storage.set('currency_rates', json.rates)
  await storage.set('currency_rates_fetched_at', Date.now())
  return json.rates
}

module.exports = { roundToDigits, fetchRates }
