# Per-target warnings and sanitizers: no global flags, so third-party code and
# the sanitizer build stay separate concerns.
option(TICKRELAY_WERROR "Treat warnings as errors" ON)
option(TICKRELAY_SANITIZE "Build with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)
# The libFuzzer build (fuzz/, clang only): every tickrelay target gets the
# sanitizers and libFuzzer's coverage hooks; only the fuzz targets link
# libFuzzer itself.
option(TICKRELAY_FUZZ "Build the libFuzzer targets in fuzz/ (clang; its own build tree)" OFF)
if(TICKRELAY_FUZZ AND NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR "TICKRELAY_FUZZ needs clang (e.g. CXX=clang++-16), not ${CMAKE_CXX_COMPILER_ID}")
endif()

function(tickrelay_enable_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic)
  if(TICKRELAY_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

function(tickrelay_enable_sanitizers target)
  if(TICKRELAY_FUZZ)
    target_compile_options(${target} PRIVATE -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
                                             -fno-sanitize-recover=undefined)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  elseif(TICKRELAY_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
endfunction()

# The default build, and so the .deb, targets the compiler's baseline
# (x86-64 on Debian's GCC): a package built on a newer CPU must still run on
# an older one instead of dying with SIGILL. simdjson's On-Demand parser picks
# its kernel from the target flags at compile time, so the baseline build uses
# its SSE4.2-free "fallback" kernel (see deploy/README.md). TICKRELAY_ARCH
# is an explicit opt-in for a build that only ever runs on the machine it
# targets, e.g. -DTICKRELAY_ARCH=native or haswell for a benchmark box.
set(TICKRELAY_ARCH "" CACHE STRING "-march value for tickrelay targets (empty: the compiler's baseline; opt-in only)")
if(TICKRELAY_ARCH)
  # Also catches a build tree configured before the default changed, whose
  # cache still holds the haswell that used to be detected.
  message(WARNING "TICKRELAY_ARCH=${TICKRELAY_ARCH}: the programs (and a package built here) need such a CPU; "
                  "configure with -DTICKRELAY_ARCH= for a portable build")
endif()

# Every tickrelay target gets both; one call keeps the lists from drifting.
function(tickrelay_target target)
  tickrelay_enable_warnings(${target})
  tickrelay_enable_sanitizers(${target})
  target_compile_features(${target} PUBLIC cxx_std_20)
  if(TICKRELAY_ARCH)
    target_compile_options(${target} PRIVATE -march=${TICKRELAY_ARCH})
  endif()
endfunction()

# A component's GoogleTest executable, tickrelay_<component>_test, registered
# with CTest as unit.<component>.*. Unit tests may use the component's
# private headers (src/), which no other component sees.
function(tickrelay_component_tests component)
  if(NOT TICKRELAY_BUILD_TESTS)
    return()
  endif()
  set(target tickrelay_${component}_test)
  add_executable(${target} ${ARGN})
  target_include_directories(${target} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
  target_link_libraries(${target} PRIVATE tickrelay::${component} tickrelay::test_support GTest::gtest_main)
  tickrelay_target(${target})
  gtest_discover_tests(${target} TEST_PREFIX "unit.${component}." PROPERTIES LABELS unit)
endfunction()
