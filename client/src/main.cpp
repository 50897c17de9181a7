// tickrelay-load: parse the command line, run the measurement, print the report.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <exception>
#include <fstream>
#include <iostream>

#include "live_output.hpp"
#include "load_options.hpp"
#include "load_runner.hpp"
#include "report.hpp"

int main(int argc, char** argv) {
  using namespace tickrelay::client;
  const ParseOutcome parsed = parse_load_options(argc, argv);
  if (!parsed.options) {
    std::cout << parsed.out;
    std::cerr << parsed.err;
    return parsed.exit_code;
  }
  const LoadOptions& options = *parsed.options;
  if (!options.output_file.empty() && !std::ofstream(options.output_file, std::ios::app)) {
    // Found out now rather than after a long run whose report would be lost.
    std::cerr << "tickrelay-load: cannot write --output " << options.output_file
              << "\nRun with --help for more information.\n";
    return 2;
  }
  // A closed pipe on stdout must end the report quietly, not kill the run.
  ::signal(SIGPIPE, SIG_IGN);

  // Progress never mixes into a machine-readable report: when JSON or CSV
  // goes to stdout, the live line and alerts go to stderr.
  const bool report_on_stdout = options.output_file.empty();
  std::FILE* live_stream = report_on_stdout && options.format != OutputFormat::table ? stderr : stdout;
  LiveOutput live(live_stream, ::isatty(::fileno(live_stream)) == 1, options.quiet);

  RunReport report;
  try {
    LoadRunner runner(options, live);
    report = runner.run();
  } catch (const std::exception& e) {
    std::cerr << "tickrelay-load: " << e.what() << "\n";
    return 1;
  }
  const std::string text = render_report(report, options.format);
  if (report_on_stdout) {
    std::cout << text << std::flush;
  } else {
    std::ofstream out(options.output_file, std::ios::binary);
    out << text;
    if (!out.flush()) {
      std::cerr << "tickrelay-load: cannot write " << options.output_file << "\n";
      return 1;
    }
  }
  // A run in which no connection ever came up measured nothing.
  bool any_up = false;
  for (const auto& target : report.targets) {
    any_up = any_up || target.messages > 0 || target.connections_up_end > 0 || target.drops > 0 ||
             target.control_messages > 0;
  }
  if (!any_up) {
    std::cerr << "tickrelay-load: no connection could be opened"
              << (report.targets.empty() || report.targets.front().first_error.empty()
                      ? std::string()
                      : " (" + report.targets.front().first_error + ")")
              << "\n";
    return 1;
  }
  return 0;
}
