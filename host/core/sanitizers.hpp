// Whether this translation unit is built with a sanitizer (GCC defines
// __SANITIZE_*__, clang answers __has_feature): code that TSan cannot follow
// (io_uring) steps aside, and tests of memory use know the shadow memory is there.
#pragma once

// GCC before 14 has no __has_feature, and an unknown function-like name in #if
// is an error, so it is asked only where it exists.
#if defined(__has_feature)
#define TANDEM_HAS_FEATURE(x) __has_feature(x)
#else
#define TANDEM_HAS_FEATURE(x) 0
#endif

namespace tandem::detail {

#if defined(__SANITIZE_THREAD__) || TANDEM_HAS_FEATURE(thread_sanitizer)
inline constexpr bool kUnderThreadSanitizer = true;
#else
inline constexpr bool kUnderThreadSanitizer = false;
#endif

#if defined(__SANITIZE_ADDRESS__) || TANDEM_HAS_FEATURE(address_sanitizer)
inline constexpr bool kUnderAddressSanitizer = true;
#else
inline constexpr bool kUnderAddressSanitizer = false;
#endif

}  // namespace tandem::detail
