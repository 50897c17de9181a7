#pragma once
// What was built: the version (TICKRELAY_VERSION, from the CMake project) and
// the git commit, kept in one generated file so a new commit rebuilds only it.

namespace tickrelay::observe {

const char* build_commit();

}  // namespace tickrelay::observe
