// Binance's own JavaScript connector (@binance/connector), configured with
// nothing but the relay's base URL, as a trading program would use it:
// raw streams, combined streams, and a live SUBSCRIBE on an open connection.
// Prints one JSON summary line and exits 0 when every check held.
//   node binance_connector_client.js ws://127.0.0.1:8765
'use strict'

const { WebsocketStream } = require('@binance/connector')

const base = process.argv[2]
if (!base) {
  console.error('usage: binance_connector_client.js BASE_URL')
  process.exit(2)
}
// Every wait is bounded: the test fails rather than hangs.
const deadline = setTimeout(() => finish('timed out'), 30000)
const silent = { debug () {}, info () {}, warn () {}, error (...a) { console.error(...a) }, log () {} }

const summary = { raw: {}, combined: {}, errors: [] }

function finish (error) {
  clearTimeout(deadline)
  if (error) summary.errors.push(error)
  console.log(JSON.stringify(summary))
  process.exit(summary.errors.length === 0 ? 0 : 1)
}

function check (condition, what) {
  if (!condition) summary.errors.push(what)
}

function runRaw () {
  return new Promise(resolve => {
    let client
    let subscribedMore = false
    const counts = summary.raw
    client = new WebsocketStream({
      logger: silent,
      wsURL: base,
      callbacks: {
        message: text => {
          const event = JSON.parse(text)
          if ('result' in event) return // the answer to our SUBSCRIBE
          check(!('stream' in event), 'raw connection got an envelope')
          const key = `${event.s.toLowerCase()}@${event.e === 'kline' ? 'kline_' + event.k.i : event.e}`
          counts[key] = (counts[key] || 0) + 1
          // On the open connection the connector sends SUBSCRIBE.
          if (!subscribedMore && counts['btcusdt@aggTrade'] >= 5) {
            subscribedMore = true
            client.kline('ETHUSDT', '1h')
          }
          if ((counts['btcusdt@aggTrade'] || 0) >= 20 && (counts['ethusdt@kline_1h'] || 0) >= 3) {
            client.disconnect()
            resolve()
          }
        }
      }
    })
    client.aggTrade('BTCUSDT') // not connected yet: opens <base>/ws/btcusdt@aggTrade
  })
}

function runCombined () {
  return new Promise(resolve => {
    const counts = summary.combined
    const client = new WebsocketStream({
      logger: silent,
      wsURL: base,
      combinedStreams: true,
      callbacks: {
        message: text => {
          const envelope = JSON.parse(text)
          if ('result' in envelope) return
          check(typeof envelope.stream === 'string' && typeof envelope.data === 'object', 'combined message without envelope')
          counts[envelope.stream] = (counts[envelope.stream] || 0) + 1
          if ((counts['btcusdt@aggTrade'] || 0) >= 10 && (counts['ethusdt@aggTrade'] || 0) >= 10) {
            client.disconnect()
            resolve()
          }
        }
      }
    })
    client.subscribe(['btcusdt@aggTrade', 'ethusdt@aggTrade']) // opens <base>/stream?streams=...
  })
}

runRaw()
  .then(runCombined)
  .then(() => {
    check(Object.keys(summary.raw).sort().join() === 'btcusdt@aggTrade,ethusdt@kline_1h', 'raw streams differ')
    check(Object.keys(summary.combined).sort().join() === 'btcusdt@aggTrade,ethusdt@aggTrade', 'combined streams differ')
    finish()
  })
  .catch(e => finish(String(e)))
