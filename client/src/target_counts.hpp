#pragma once
#include <cstdint>

namespace tickrelay::client {

// What the load client counts per target, listed once: TargetTally counts
// it live, TallySnapshot keeps it at the end of the warm-up, TargetReport
// reports it and LoadMetrics exports it. X(name, since_warm_up): counts
// with since_warm_up are reported from the end of the warm-up (the report
// subtracts the snapshot); the others, failures, count over the whole run.
#define TICKRELAY_LOAD_COUNTS(X)                                                \
  X(messages, true)         /* market messages (control and malformed apart) */ \
  X(bytes, true)            /* payload bytes of market messages */              \
  X(control_messages, true) /* responses such as {"result":null,"id":1} */      \
  X(malformed, true)                                                            \
  X(without_event_time, true) /* counted, not in latency (spot bookTicker) */   \
  X(millisecond_times, true)  /* latency samples whose E was in ms */           \
  X(negative_latency, true)   /* E after now: clocks apart; recorded as 0 */    \
  X(lost, true)               /* ids skipped in sequences */                    \
  X(duplicates, true)                                                           \
  X(connect_errors, false) /* attempts that never got to a WebSocket */         \
  X(drops, false)          /* established connections that ended early */       \
  X(reconnects, false)     /* connections re-established after a drop */

// The counts as members of type T (RelaxedCounter live, std::uint64_t after).
template <class T>
struct TargetCounts {
#define TICKRELAY_LOAD_COUNT_MEMBER(name, since_warm_up) T name{};
  TICKRELAY_LOAD_COUNTS(TICKRELAY_LOAD_COUNT_MEMBER)
#undef TICKRELAY_LOAD_COUNT_MEMBER
};

// Calls fn(since_warm_up, a.c, b.c, ...) for every count c, in list order.
template <class Fn, class... Counts>
void for_each_count(Fn&& fn, Counts&... counts) {
#define TICKRELAY_LOAD_COUNT_VISIT(name, since_warm_up) fn(since_warm_up, counts.name...);
  TICKRELAY_LOAD_COUNTS(TICKRELAY_LOAD_COUNT_VISIT)
#undef TICKRELAY_LOAD_COUNT_VISIT
}

}  // namespace tickrelay::client
