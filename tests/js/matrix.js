// What every client of the compatibility matrix shares: its two base URLs
// from the command line, a deadline, the summary (events per cell, errors)
// printed as one JSON line, and an exit that is 0 only when every cell got
// NEEDED events. Each <lib>_client.js adds its cells and how to close.
'use strict'

const NEEDED = 3

function matrix (script, cells = []) {
  const [spotBase, usdmBase] = process.argv.slice(2)
  if (!spotBase || !usdmBase) {
    console.error(`usage: ${script} SPOT_BASE_URL USDM_BASE_URL`)
    process.exit(2)
  }
  const summary = { cells: Object.fromEntries(cells.map(c => [c, 0])), errors: [] }
  const closers = []
  const run = { spotBase, usdmBase, summary, finished: false, finish, onFinish: close => closers.push(close) }
  // Every wait is bounded: the test fails rather than hangs.
  const deadline = setTimeout(() => finish('timed out'), 45000)

  function finish (error) {
    if (run.finished) return
    run.finished = true
    clearTimeout(deadline)
    if (error) summary.errors.push(error)
    for (const cell of Object.keys(summary.cells)) {
      if (summary.cells[cell] < NEEDED) summary.errors.push(`${cell}: ${summary.cells[cell]} events`)
    }
    console.log(JSON.stringify(summary))
    // Closing can wait on sockets; the summary is out, so leave within a second.
    const closing = closers.map(close => Promise.resolve().then(close).catch(() => {}))
    Promise.race([Promise.all(closing), new Promise(resolve => setTimeout(resolve, 1000))])
      .then(() => process.exit(summary.errors.length === 0 ? 0 : 1))
  }
  return run
}

module.exports = { matrix, NEEDED }
