// The "binance-api-node" npm package (client.ws.*), configured with nothing
// but the relay's base URLs, as a trading program pointed at the relay would
// be. Cells: trades, klines 1m and bookTicker on spot and USD-M btcusdt (spot
// ws.trades = <symbol>@trade, USD-M ws.futuresAggTrades = <symbol>@aggTrade:
// the library has no USD-M @trade helper).
// Prints one JSON summary line and exits 0 when every cell got 3 events.
//   node binance_api_node_client.js ws://127.0.0.1:SPOT_PORT ws://127.0.0.1:USDM_PORT
//
// Base URLs: the options wsBase (spot, Binance's default
// wss://stream.binance.com:9443/ws), wsFuturesMarket (.../market/ws),
// wsFuturesPublic (.../public/ws) and wsFuturesPrivate (.../private/ws);
// the library opens one raw stream per connection at <option>/<stream>.
// No REST: only ws.* is used and useServerTime is not set.
'use strict'

const Binance = require('binance-api-node').default

const { matrix, NEEDED } = require('./matrix')
const run = matrix('binance_api_node_client.js')
const { spotBase, usdmBase, summary, finish } = run

const spot = spotBase.replace(/\/+$/, '')
const usdm = usdmBase.replace(/\/+$/, '')
const client = Binance({
  wsBase: `${spot}/ws`,
  wsFuturesMarket: `${usdm}/market/ws`,
  wsFuturesPublic: `${usdm}/public/ws`,
  wsFuturesPrivate: `${usdm}/private/ws`
})

const closers = []
run.onFinish(() => { for (const close of closers) close({ delay: 0, fastClose: true }) })

// check(event) returns a complaint or nothing; events are the library's
// transformed objects (eventType, interval, bestBid, ...).
function cell (name, open, check) {
  summary.cells[name] = 0
  closers.push(open(event => {
    if (run.finished) return
    const problem = check(event)
    if (problem) {
      const error = `${name}: ${problem}`
      if (!summary.errors.includes(error)) summary.errors.push(error)
      return
    }
    summary.cells[name]++
    if (Object.values(summary.cells).every(n => n >= NEEDED)) finish()
  }))
}

const trade = type => e =>
  e.symbol !== 'BTCUSDT' ? `event for ${e.symbol}` : e.eventType !== type ? `eventType ${e.eventType}` : !(Number(e.price) > 0) ? 'no price' : undefined
const kline = e =>
  e.symbol !== 'BTCUSDT' ? `event for ${e.symbol}` : e.eventType !== 'kline' || e.interval !== '1m' ? `not a 1m kline: ${e.eventType} ${e.interval}` : undefined
const book = e =>
  e.symbol !== 'BTCUSDT' ? `event for ${e.symbol}` : !(Number(e.bestBid) > 0 && Number(e.bestAsk) > 0) ? 'bookTicker without bid/ask' : undefined

cell('spot.trades', cb => client.ws.trades('BTCUSDT', cb), trade('trade'))
cell('spot.klines', cb => client.ws.candles('BTCUSDT', '1m', cb), kline)
cell('spot.bookTicker', cb => client.ws.bookTicker('BTCUSDT', cb), book)
cell('usdm.trades', cb => client.ws.futuresAggTrades('BTCUSDT', cb), trade('aggTrade'))
cell('usdm.klines', cb => client.ws.futuresCandles('BTCUSDT', '1m', cb), kline)
cell('usdm.bookTicker', cb => client.ws.futuresBookTicker('BTCUSDT', cb), book)
