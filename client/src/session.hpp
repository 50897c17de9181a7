#pragma once

namespace tickrelay::client {

// A connection in progress or established. Sessions own themselves through
// their pending handlers; the worker keeps a plain pointer only to close them
// at the end of the run (the one virtual call, never per message).
class Session {
 public:
  virtual ~Session() = default;
  virtual void close() = 0;
};

}  // namespace tickrelay::client
