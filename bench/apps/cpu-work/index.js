// Benchmark app: a few milliseconds of ordinary JavaScript on every event, of the kinds real
// processEvent apps do: a JSON round trip of the properties, regular expressions over their text
// (counting keys, picking out URLs and numbers) and FNV-1a hashing of it, ROUNDS times (config
// `rounds`). Pure CPU in QuickJS, no host calls: a stage bounded by the cores its workers get.
const KEY = /"([$a-zA-Z_][\w$]*)":/g
const URL_LIKE = /https?:\/\/[^\s"?#]+/g
const NUMBER = /-?\d+(?:\.\d+)?/g

function fnv1a(text, seed) {
    let hash = seed
    for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193)
    return hash >>> 0
}

export function processEvent(event, { config }) {
    const rounds = Number(config.rounds) || 1
    let hash = 0x811c9dc5
    let keys = 0
    let urls = 0
    let numbers = 0
    for (let round = 0; round < rounds; round++) {
        const copy = JSON.parse(JSON.stringify(event.properties))
        copy.cpu_work_round = round
        const text = JSON.stringify(copy)
        keys += (text.match(KEY) || []).length
        urls += (text.match(URL_LIKE) || []).length
        numbers += (text.match(NUMBER) || []).length
        hash = fnv1a(text, hash)
    }
    event.properties.cpu_work = { hash, keys, urls, numbers }
    return event
}
