#include "upstream/ingest.hpp"

#include <algorithm>

#include "tickrelay/fanout/frame.hpp"
#include "tickrelay/fanout/relay_counters.hpp"
#include "tickrelay/fanout/router.hpp"
#include "tickrelay/fanout/stream_catalog.hpp"
#include "tickrelay/fanout/stream_name.hpp"

namespace tickrelay::upstream {

Ingest::Ingest(fanout::Router& router, fanout::RelayCounters& counters) : router_(router), counters_(counters) {}

void Ingest::skip_malformed(std::size_t size) {
  ++counters_.upstream_messages;
  counters_.upstream_bytes += size;
  ++counters_.upstream_malformed;
}

relay::ParsedFrame::Type Ingest::process(std::uint64_t connection, const char* data, std::size_t size,
                                         std::size_t capacity, Clock::time_point received) {
  ++counters_.upstream_messages;
  counters_.upstream_bytes += size;
  const auto parsed = parser_.parse(data, size, capacity);
  using Type = relay::ParsedFrame::Type;
  if (parsed.type == Type::malformed) ++counters_.upstream_malformed;
  if (parsed.type != Type::event) return parsed.type;

  const auto stream = router_.find(parsed.stream);
  if (stream == fanout::kNoStream || !router_.carried(stream)) {
    ++counters_.upstream_unknown_stream;
    return parsed.type;
  }
  const auto kind = router_.kind(stream);
  std::int64_t gap_id = -1;
  switch (fanout::sequence_field(kind)) {
    case fanout::SequenceField::trade_id: gap_id = parsed.trade_id; break;
    case fanout::SequenceField::agg_trade_id: gap_id = parsed.agg_id; break;
    case fanout::SequenceField::none: break;
  }
  const std::int64_t sequence = parsed.trade_id >= 0 ? parsed.trade_id
                                : parsed.agg_id >= 0 ? parsed.agg_id
                                                     : parsed.update_id;
  auto& gaps = counters_.upstream_gaps[static_cast<std::size_t>(kind)];
  if (sequencer_.observe(stream, connection, EventKey{parsed.event_time, sequence}, gap_id, gaps) ==
      StreamSequencer::Verdict::duplicate) {
    ++counters_.upstream_duplicates;
    return parsed.type;
  }
  std::int64_t event_us = 0;
  if (parsed.event_time > 0) {
    event_us = relay::event_time_to_us(parsed.event_time);
    const auto now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    counters_.upstream_event_lag.observe(static_cast<double>(std::max<std::int64_t>(0, now_us - event_us)) / 1e6);
  }
  if (tap_) tap_(stream, std::string_view(data, size));
  const auto frame = fanout::Frame::from_envelope(std::string_view(data, size), parsed.data_offset, parsed.data_size,
                                                  stream, event_us, received);
  const TimeUnit declared = stream < forms_.size() ? forms_[stream].unit : TimeUnit::millisecond;
  publish(stream, frame, parsed.event_time > 0 ? unit_of_epoch(parsed.event_time) : declared);
  return parsed.type;
}

void Ingest::publish(fanout::StreamId stream, const fanout::FramePtr& frame, TimeUnit sent) {
  if (stream >= forms_.size()) return router_.publish(frame);
  const Forms& forms = forms_[stream];
  const TimeUnit other_unit = forms.unit == TimeUnit::millisecond ? TimeUnit::microsecond : TimeUnit::millisecond;
  const bool other_wanted = forms.other != fanout::kNoStream && router_.subscriber_count(forms.other) != 0;
  if (sent == forms.unit) {
    router_.publish(frame);
    if (!other_wanted) return;
    if (const auto other = render(frame, stream, forms.other, sent, other_unit)) router_.publish_to(forms.other, other);
    return;
  }
  // Sent in the other unit: that form is the message as it came.
  if (const auto native = render(frame, stream, stream, sent, forms.unit)) router_.publish_to(stream, native);
  if (other_wanted) router_.publish_to(forms.other, frame);
}

fanout::FramePtr Ingest::render(const fanout::FramePtr& frame, fanout::StreamId native, fanout::StreamId target,
                                TimeUnit from, TimeUnit to) {
  switch (rescaler_.rescale(frame->raw_payload(), from, to, rendered_)) {
    case TimeRescaler::Result::unchanged: return frame;
    case TimeRescaler::Result::rescaled:
      return fanout::Frame::from_payload(router_.name(native), rendered_, target, frame->event_time_us(),
                                         frame->received());
    case TimeRescaler::Result::malformed: break;
  }
  ++counters_.upstream_malformed;
  return nullptr;
}

void Ingest::connection_closed(std::uint64_t connection) { sequencer_.connection_closed(connection); }

void Ingest::declare(fanout::StreamId stream, TimeUnit unit, std::string_view path) {
  if (forms_.size() <= stream) forms_.resize(stream + 1);
  auto& forms = forms_[stream];
  if (!forms.declared) {
    forms.declared = true;
    forms.unit = unit;
  }
  forms.path = path;
}

fanout::StreamId Ingest::client_form(fanout::StreamId stream, std::string_view prefix, TimeUnit unit) {
  if (stream >= forms_.size() || !forms_[stream].declared) return stream;
  auto& forms = forms_[stream];
  if (prefix == "/private") return fanout::kSilentStream;
  if (!prefix.empty() && !forms.path.empty() && prefix != forms.path) return fanout::kSilentStream;
  if (unit == forms.unit) return stream;
  const std::string name = std::string(router_.name(stream)) + (unit == TimeUnit::millisecond ? "|ms" : "|us");
  if (forms.other == fanout::kNoStream || !router_.carried(forms.other)) {
    forms.other = router_.add_stream(name, router_.kind(stream), router_.replays(stream), true);
  }
  // Nobody took it since: its latest value is rendered from the stream's.
  if (router_.subscriber_count(forms.other) == 0) {
    fanout::FramePtr latest;
    if (const auto& last = router_.last_value(stream)) latest = render(last, stream, forms.other, forms.unit, unit);
    router_.set_last_value(forms.other, std::move(latest));
  }
  return forms.other;
}

std::size_t Ingest::subscriber_count(fanout::StreamId stream) const {
  const auto other = other_form(stream);
  return router_.subscriber_count(stream) + (other == fanout::kNoStream ? 0 : router_.subscriber_count(other));
}

fanout::StreamId Ingest::other_form(fanout::StreamId stream) const {
  return stream < forms_.size() ? forms_[stream].other : fanout::kNoStream;
}

}  // namespace tickrelay::upstream
