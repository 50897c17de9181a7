#include "tickrelay/observe/process_stats.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace tickrelay::observe {
namespace {

// Reads a small /proc file into buf; returns the byte count or -1.
ssize_t read_small_file(const char* path, char* buf, std::size_t size) {
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return -1;
  }
  ssize_t total = 0;
  while (static_cast<std::size_t>(total) < size - 1) {
    const ssize_t n = ::read(fd, buf + total, size - 1 - static_cast<std::size_t>(total));
    if (n <= 0) {
      break;
    }
    total += n;
  }
  ::close(fd);
  buf[total] = '\0';
  return total;
}

std::uint64_t parse_u64(std::string_view s) {
  std::uint64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

// The boot time anchors /proc/<pid>/stat's starttime (ticks since boot).
double boot_time_seconds() {
  char buf[8192];
  if (read_small_file("/proc/stat", buf, sizeof buf) <= 0) {
    return 0;
  }
  const char* p = std::strstr(buf, "\nbtime ");
  return p == nullptr ? 0 : static_cast<double>(std::strtoull(p + 7, nullptr, 10));
}

std::uint64_t count_fds(pid_t pid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/fd", static_cast<int>(pid));
  DIR* dir = ::opendir(path);
  if (dir == nullptr) {
    return 0;
  }
  std::uint64_t n = 0;
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] != '.') {
      ++n;
    }
  }
  ::closedir(dir);
  // The directory stream itself holds an fd while we count.
  return pid == ::getpid() && n > 0 ? n - 1 : n;
}

}  // namespace

std::optional<ProcessSample> read_process_sample(pid_t pid) {
  static const long ticks_per_second = ::sysconf(_SC_CLK_TCK);
  static const long page_size = ::sysconf(_SC_PAGESIZE);
  static const double boot_time = boot_time_seconds();

  char path[64];
  char buf[1024];
  std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
  if (read_small_file(path, buf, sizeof buf) <= 0) {
    return std::nullopt;
  }
  // The command name (field 2) may hold spaces and parentheses; the fields
  // after it start past the last ')'.
  const char* rest = std::strrchr(buf, ')');
  if (rest == nullptr) {
    return std::nullopt;
  }
  std::string_view fields(rest + 2);
  // Field numbers as in proc(5); `fields` starts at field 3 (state).
  std::uint64_t values[23] = {};
  for (int index = 3; index <= 24 && !fields.empty(); ++index) {
    const auto space = fields.find(' ');
    values[index - 3] = parse_u64(fields.substr(0, space));
    fields = space == std::string_view::npos ? std::string_view{} : fields.substr(space + 1);
  }
  auto field = [&](int number) { return values[number - 3]; };

  ProcessSample sample;
  const auto ticks = static_cast<double>(ticks_per_second);
  sample.cpu_seconds = static_cast<double>(field(14) + field(15)) / ticks;
  sample.threads = field(20);
  sample.start_time_seconds = boot_time + static_cast<double>(field(22)) / ticks;
  sample.virtual_bytes = field(23);
  sample.resident_bytes = field(24) * static_cast<std::uint64_t>(page_size);
  sample.open_fds = count_fds(pid);
  return sample;
}

std::optional<ProcessSample> read_self_sample() { return read_process_sample(::getpid()); }

}  // namespace tickrelay::observe
