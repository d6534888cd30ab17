#pragma once

// Clang's thread-safety analysis (-Wthread-safety). The macros expand to
// nothing on other compilers, so annotated code still builds with GCC.

#if defined(__clang__)
#define GG_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define GG_THREAD_ANNOTATION(x)
#endif

#define CAPABILITY(x) GG_THREAD_ANNOTATION(capability(x))
#define SCOPED_CAPABILITY GG_THREAD_ANNOTATION(scoped_lockable)
#define GUARDED_BY(x) GG_THREAD_ANNOTATION(guarded_by(x))
#define PT_GUARDED_BY(x) GG_THREAD_ANNOTATION(pt_guarded_by(x))
#define REQUIRES(...) GG_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define EXCLUDES(...) GG_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define ACQUIRE(...) GG_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define RELEASE(...) GG_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define NO_THREAD_SAFETY_ANALYSIS GG_THREAD_ANNOTATION(no_thread_safety_analysis)
