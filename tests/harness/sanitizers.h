// Which sanitizer a test binary was built with (ci/sanitize), for the few assertions a
// sanitizer's own work makes untrue: ThreadSanitizer maps shadow memory for every page a
// test touches, and those shadow pages fault too, so fault counts come out several times
// the pages touched.
#pragma once

namespace mapbench {

#if defined(__SANITIZE_THREAD__)
inline constexpr bool kThreadSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
inline constexpr bool kThreadSanitizer = true;
#else
inline constexpr bool kThreadSanitizer = false;
#endif
#else
inline constexpr bool kThreadSanitizer = false;
#endif

}  // namespace mapbench
