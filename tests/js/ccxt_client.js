// ccxt's websocket layer ("pro": ccxt.pro.binance and ccxt.pro.binanceusdm),
// configured with nothing but the relay's base URLs, as a trading program
// pointed at the relay would be. Cells: watchTrades, watchOHLCV 1m and
// watchTicker on spot BTC/USDT and USD-M BTC/USDT:USDT, and watchOrderBook
// on both: ccxt follows Binance's order-book procedure itself (REST depth
// snapshot from the same base URL over http(s), diffs from
// <symbol>@depth@100ms, stitched by U/u, and pu on USD-M; a break in the ids
// throws), so its cells pass only if the relay's snapshot and diffs agree.
// Prints one JSON summary line and exits 0 when every cell got 3 events.
//   node ccxt_client.js ws://127.0.0.1:SPOT_PORT ws://127.0.0.1:USDM_PORT
//
// Base URLs: ccxt keeps them in exchange.urls.api.ws; spot uses key 'spot'
// (it opens <spot>/<n> where n is a stream index, so we set '<base>/ws'),
// USD-M uses key 'future' and rewrites a trailing '/ws' into '/public/ws'
// or '/market/ws' by channel before appending the stream index.
//
// REST only for the depth snapshots (urls.api.public and fapiPublic, the base
// URL with http in place of ws): every watch* call runs loadMarkets() (a
// REST request to api.binance.com) unless markets are already set, so the
// two markets are given offline with setMarkets().
// Plain ws:// URLs: ccxt refuses them ("to use proxy with non-ssl ws://
// urls...") until loadHttpProxyAgent() has created a node:http Agent; that
// call makes no request, it only loads the module.
'use strict'

const ccxt = require('ccxt')

const { matrix, NEEDED } = require('./matrix')
const run = matrix('ccxt_client.js')
const { spotBase, usdmBase, summary, finish } = run
const exchanges = []
run.onFinish(() => Promise.all(exchanges.map(e => e.close())))

function market (ex, m) {
  return ex.safeMarketStructure(Object.assign({
    active: true,
    lowercaseId: m.id.toLowerCase(),
    precision: { price: 0.01, amount: 0.001 },
    limits: { amount: {}, price: {}, cost: {}, leverage: {} },
    info: {}
  }, m))
}

function configure (ex, key, base, restKey, restPath) {
  const trimmed = base.replace(/\/+$/, '')
  ex.urls.api.ws[key] = trimmed + '/ws'
  ex.urls.api[restKey] = trimmed.replace(/^ws/, 'http') + restPath
  return ex
}

const spot = configure(new ccxt.pro.binance({ enableRateLimit: false }), 'spot', spotBase, 'public', '/api/v3')
spot.setMarkets([market(spot, {
  id: 'BTCUSDT', symbol: 'BTC/USDT', base: 'BTC', quote: 'USDT', baseId: 'BTC', quoteId: 'USDT', type: 'spot', spot: true
})])
const usdm = configure(new ccxt.pro.binanceusdm({ enableRateLimit: false }), 'future', usdmBase, 'fapiPublic',
  '/fapi/v1')
usdm.setMarkets([market(usdm, {
  id: 'BTCUSDT',
  symbol: 'BTC/USDT:USDT',
  base: 'BTC',
  quote: 'USDT',
  settle: 'USDT',
  baseId: 'BTC',
  quoteId: 'USDT',
  settleId: 'USDT',
  type: 'swap',
  swap: true,
  contract: true,
  linear: true,
  inverse: false,
  contractSize: 1
})])
exchanges.push(spot, usdm)

// One cell: call watch() until NEEDED results passed check(); each resolved
// watch is at least one event the library delivered.
async function cell (name, watch, check) {
  summary.cells[name] = 0
  while (!run.finished && summary.cells[name] < NEEDED) {
    let result
    try {
      result = await watch()
    } catch (e) {
      summary.errors.push(`${name}: ${e.constructor.name}: ${String(e.message).slice(0, 200)}`)
      return
    }
    const problem = check(result)
    if (problem) {
      summary.errors.push(`${name}: ${problem}`)
      return
    }
    summary.cells[name]++
  }
}

function tradeCheck (symbol) {
  return trades => {
    if (!Array.isArray(trades) || trades.length === 0) return 'no trades'
    const t = trades[trades.length - 1]
    if (t.symbol !== symbol) return `trade for ${t.symbol}`
    if (!(t.price > 0) || !(t.amount > 0) || t.info.e !== 'trade') return `trade without price/amount ${JSON.stringify(t.info)}`
  }
}

function ohlcvCheck (candles) {
  if (!Array.isArray(candles) || candles.length === 0) return 'no candles'
  const c = candles[candles.length - 1]
  // [open time, o, h, l, c, v]; a 1m kline opens on a minute boundary.
  if (c.length !== 6 || c.slice(1, 5).some(p => !(p > 0))) return `bad candle ${JSON.stringify(c)}`
  if (c[0] % 60000 !== 0) return `candle open ${c[0]} not on a minute: not a 1m kline`
}

function tickerCheck (symbol) {
  return ticker => {
    if (!ticker || ticker.symbol !== symbol) return `ticker for ${ticker && ticker.symbol}`
    // watchTicker subscribes <symbol>@miniTicker (options.watchTickers.name);
    // both ticker events carry the last price.
    if (!(ticker.last > 0) || !['24hrMiniTicker', '24hrTicker'].includes(ticker.info.e)) return `not a ticker event ${JSON.stringify(ticker.info)}`
  }
}

// A book the library kept: best bid under best ask, each side sorted, and
// its id (the snapshot's lastUpdateId, then each diff's u) moving on.
function bookCheck (symbol) {
  let nonce = -1
  return book => {
    if (!book || book.symbol !== symbol) return `book for ${book && book.symbol}`
    const { bids, asks } = book
    if (bids.length === 0 || asks.length === 0) return 'an empty side'
    if (!(bids[0][0] < asks[0][0])) return `crossed: bid ${bids[0][0]} ask ${asks[0][0]}`
    for (let i = 1; i < bids.length; i++) if (!(bids[i][0] < bids[i - 1][0])) return 'bids out of order'
    for (let i = 1; i < asks.length; i++) if (!(asks[i][0] > asks[i - 1][0])) return 'asks out of order'
    if (!(book.nonce > nonce)) return `id ${book.nonce} after ${nonce}`
    nonce = book.nonce
  }
}

Promise.all([spot.loadHttpProxyAgent(), usdm.loadHttpProxyAgent()]).then(() => Promise.all([
  cell('spot.orderbook', () => spot.watchOrderBook('BTC/USDT'), bookCheck('BTC/USDT')),
  cell('usdm.orderbook', () => usdm.watchOrderBook('BTC/USDT:USDT'), bookCheck('BTC/USDT:USDT')),
  cell('spot.trades', () => spot.watchTrades('BTC/USDT'), tradeCheck('BTC/USDT')),
  cell('spot.ohlcv', () => spot.watchOHLCV('BTC/USDT', '1m'), ohlcvCheck),
  cell('spot.ticker', () => spot.watchTicker('BTC/USDT'), tickerCheck('BTC/USDT')),
  cell('usdm.trades', () => usdm.watchTrades('BTC/USDT:USDT'), tradeCheck('BTC/USDT:USDT')),
  cell('usdm.ohlcv', () => usdm.watchOHLCV('BTC/USDT:USDT', '1m'), ohlcvCheck),
  cell('usdm.ticker', () => usdm.watchTicker('BTC/USDT:USDT'), tickerCheck('BTC/USDT:USDT'))
])).then(() => finish(), e => finish(String(e)))
