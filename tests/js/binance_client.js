// The "binance" npm package (tiagosiebler's SDK, WebsocketClient), configured
// with nothing but the relay's base URLs, as a trading program pointed at the
// relay would be. Cells: trades, klines 1m and bookTicker on spot and USD-M
// btcusdt (spot <symbol>@trade, USD-M <symbol>@aggTrade: the trade stream
// Binance documents for USD-M).
// Prints one JSON summary line and exits 0 when every cell got 3 events.
//   node binance_client.js ws://127.0.0.1:SPOT_PORT ws://127.0.0.1:USDM_PORT
//
// Base URLs: the option `wsUrl` replaces the scheme+host for every
// connection the client opens and the SDK appends its own path (spot
// '/stream', USD-M '/market/stream' or '/public/stream' by topic). It is one
// URL per client, so spot and USD-M each get their own WebsocketClient.
// No REST: only public market streams are used, so no listenKey is asked.
'use strict'

const { WebsocketClient } = require('binance')

const cells = ['spot.trades', 'spot.klines', 'spot.bookTicker', 'usdm.trades', 'usdm.klines', 'usdm.bookTicker']
const { matrix, NEEDED } = require('./matrix')
const run = matrix('binance_client.js', cells)
const { spotBase, usdmBase, summary, finish } = run
const silent = { trace () {}, info () {}, error (...a) { summary.errors.push(a.map(String).join(' ').slice(0, 200)) } }
const clients = []
run.onFinish(() => { for (const c of clients) c.closeAll(false) })

// Which cell an event belongs to, or a complaint; data is Binance's raw event.
function classify (product, data) {
  if (!data || typeof data !== 'object' || data.s !== 'BTCUSDT') return null
  const trade = product === 'spot' ? 'trade' : 'aggTrade'
  if (data.e === trade) return Number(data.p) > 0 ? 'trades' : `${trade} without price`
  if (data.e === 'kline') return data.k && data.k.i === '1m' ? 'klines' : `kline interval ${data.k && data.k.i}`
  // Spot bookTicker events carry no "e"; USD-M ones say "bookTicker".
  if ((data.e === 'bookTicker' || (data.e === undefined && 'u' in data)) && Number(data.b) > 0 && Number(data.a) > 0) return 'bookTicker'
  return null
}

function makeClient (product, base) {
  const client = new WebsocketClient({ wsUrl: base.replace(/\/+$/, ''), beautify: false }, silent)
  client.on('message', message => {
    // Combined-stream connections deliver {stream, data}.
    const data = message && message.data !== undefined ? message.data : message
    const kind = classify(product, data)
    if (!kind) return
    const cell = `${product}.${kind}`
    if (!(cell in summary.cells)) {
      if (!summary.errors.includes(`${product}: ${kind}`)) summary.errors.push(`${product}: ${kind}`)
      return
    }
    summary.cells[cell]++
    if (cells.every(c => summary.cells[c] >= NEEDED)) finish()
  })
  client.on('exception', e => summary.errors.push(`${product} exception: ${JSON.stringify(e).slice(0, 200)}`))
  clients.push(client)
  return client
}

const spot = makeClient('spot', spotBase)
const usdm = makeClient('usdm', usdmBase)
const subscriptions = [
  spot.subscribeTrades('BTCUSDT', 'spot'),
  spot.subscribeKlines('BTCUSDT', '1m', 'spot'),
  spot.subscribeSymbolBookTicker('BTCUSDT', 'spot'),
  usdm.subscribeAggregateTrades('BTCUSDT', 'usdm'),
  usdm.subscribeKlines('BTCUSDT', '1m', 'usdm'),
  usdm.subscribeSymbolBookTicker('BTCUSDT', 'usdm')
]
// subscribe() resolves once the server answered; a rejection is a failure.
subscriptions.forEach((p, i) => Promise.resolve(p).catch(e => summary.errors.push(`${cells[i]} subscribe: ${String(e && (e.message || JSON.stringify(e))).slice(0, 200)}`)))
