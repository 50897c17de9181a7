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

# Every tickrelay target gets both; one call keeps the lists from drifting.
function(tickrelay_target target)
  tickrelay_enable_warnings(${target})
  tickrelay_enable_sanitizers(${target})
  target_compile_features(${target} PUBLIC cxx_std_20)
endfunction()
