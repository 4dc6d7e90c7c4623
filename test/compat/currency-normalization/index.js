// Shape: CommonJS across two files (`require('./lib')`), module.exports = { … } with runEveryDay.
const { roundToDigits, fetchRates } = require('./lib')

async function setupPlugin(meta) {
  if (!meta.config.openExchangeRatesApiKey) throw new Error('No API key found!')
  if (!(await meta.storage.get('currency_rates', null))) await fetchRates(meta)
}

// Rates are refreshed once a day; every process reads them from storage.
async function runEveryDay(meta) {
  const rates = await fetchRates(meta)
  console.log(`refreshed ${Object.keys(rates).length} currency rates`)
}

async function processEvent(event, meta) {
  const { openExchangeRatesApiKey, normalizedCurrency, amountProperty, currencyProperty, normalizedAmountProperty, normalizedCurrencyProperty } = meta.config
  if (
    openExchangeRatesApiKey &&
    normalizedCurrency &&
    event.properties &&
    typeof event.properties[amountProperty] !== 'undefined' &&
    typeof event.properties[currencyProperty] !== 'undefined'
  ) {
    const rates = (await meta.storage.get('currency_rates', null)) || (await fetchRates(meta))
    const amount = event.properties[amountProperty]
    const currency = event.properties[currencyProperty]
    if (rates[currency] && rates[normalizedCurrency]) {
      event.properties[normalizedAmountProperty] = roundToDigits((amount * rates[normalizedCurrency]) / rates[currency], 4)
      event.properties[normalizedCurrencyProperty] = normalizedCurrency
    }
  }
  return event
}

module.exports = { setupPlugin, processEvent, runEveryDay }
