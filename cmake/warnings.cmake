# Per-target warnings and sanitizers: no global flags, so third-party code and
# the sanitizer build stay separate concerns.
option(TICKRELAY_WERROR "Treat warnings as errors" ON)
option(TICKRELAY_SANITIZE "Build with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)

function(tickrelay_enable_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic)
  if(TICKRELAY_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

function(tickrelay_enable_sanitizers target)
  if(TICKRELAY_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
endfunction()

# simdjson's On-Demand parser uses the SIMD kernel the compiler targets, so
# the build targets haswell (AVX2, BMI, PCLMUL: what simdjson needs) when the build machine has it; set
# TICKRELAY_ARCH to "" for a portable build.
if(NOT DEFINED TICKRELAY_ARCH)
  set(TICKRELAY_ARCH "")
  if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64" AND EXISTS /proc/cpuinfo)
    file(READ /proc/cpuinfo _tickrelay_cpuinfo)
    if(_tickrelay_cpuinfo MATCHES " avx2 " AND _tickrelay_cpuinfo MATCHES " bmi2 " AND _tickrelay_cpuinfo MATCHES " pclmulqdq ")
      set(TICKRELAY_ARCH "haswell")
    endif()
  endif()
  set(TICKRELAY_ARCH "${TICKRELAY_ARCH}" CACHE STRING "-march value for tickrelay targets (empty: compiler default)")
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
