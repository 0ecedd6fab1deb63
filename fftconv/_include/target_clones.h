/* The CPU targets of fftconv's compiled loops, shared by every C file so that they stay alike.
 *
 * On x86-64 Linux with GCC, a function marked CLONES is compiled for AVX-512 (x86-64-v4), AVX2
 * (x86-64-v3) and the baseline, and the CPU picks one when the module loads: a build runs on any
 * x86-64 machine it is copied to (these machines change CPU between sessions while a virtual
 * environment stays). Elsewhere CLONES is empty and the compiler's own target is used.
 */
#ifndef FFTCONV_TARGET_CLONES_H
#define FFTCONV_TARGET_CLONES_H

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define CLONES
#endif

#endif
