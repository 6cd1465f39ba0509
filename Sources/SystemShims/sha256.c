// SHA-256 block compression (FIPS 180-4) for RevenueCore.SHA256: the x86 SHA extensions (SHA-NI) when
// the CPU has them, detected once at run time with CPUID, otherwise portable C. Only whole 64-byte
// blocks are processed here; buffering and padding stay in Swift (RevenueCore/SHA256.swift).
#include <stdint.h>
#include <stddef.h>
#include "SystemShims.h"

static const uint32_t K256[64] __attribute__((aligned(16))) = {
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROTR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

void cshims_sha256_blocks_portable(uint32_t state[8], const uint8_t *p, size_t nblocks) {
  uint32_t w[64];
  for (; nblocks > 0; nblocks--, p += 64) {
    for (int t = 0; t < 16; t++) {
      w[t] = (uint32_t)p[4 * t] << 24 | (uint32_t)p[4 * t + 1] << 16 | (uint32_t)p[4 * t + 2] << 8 | p[4 * t + 3];
    }
    for (int t = 16; t < 64; t++) {
      uint32_t x = w[t - 15], y = w[t - 2];
      uint32_t s0 = ROTR(x, 7) ^ ROTR(x, 18) ^ (x >> 3);
      uint32_t s1 = ROTR(y, 17) ^ ROTR(y, 19) ^ (y >> 10);
      w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
    uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
    for (int t = 0; t < 64; t++) {
      uint32_t t1 = h + (ROTR(e, 6) ^ ROTR(e, 11) ^ ROTR(e, 25)) + ((e & f) ^ (~e & g)) + K256[t] + w[t];
      uint32_t t2 = (ROTR(a, 2) ^ ROTR(a, 13) ^ ROTR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
      h = g; g = f; f = e; e = d + t1;
      d = c; c = b; b = a; a = t1 + t2;
    }
    state[0] += a; state[1] += b; state[2] += c; state[3] += d;
    state[4] += e; state[5] += f; state[6] += g; state[7] += h;
  }
}

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>

#define SHANI __attribute__((target("sha,sse4.1")))

// Four rounds on message group M (already byte-swapped): state update with M + K[4g..4g+3].
#define SHANI_ROUNDS(M, g)                                                                 \
  do {                                                                                    \
    __m128i msg_ = _mm_add_epi32((M), _mm_load_si128((const __m128i *)(K256 + 4 * (g)))); \
    state1 = _mm_sha256rnds2_epu32(state1, state0, msg_);                                 \
    msg_ = _mm_shuffle_epi32(msg_, 0x0E);                                                 \
    state0 = _mm_sha256rnds2_epu32(state0, state1, msg_);                                 \
  } while (0)

// Message schedule for group g ≥ 4: W[4g..4g+3] from groups g-4 (A), g-3 (B), g-2 (C), g-1 (D).
#define SHANI_SCHEDULE(A, B, C, D) \
  (A) = _mm_sha256msg2_epu32(_mm_add_epi32(_mm_sha256msg1_epu32((A), (B)), _mm_alignr_epi8((D), (C), 4)), (D))

SHANI static void sha256_blocks_shani(uint32_t state[8], const uint8_t *p, size_t nblocks) {
  const __m128i mask = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
  // The instructions keep the state as ABEF / CDGH; convert from and back to A..H order.
  __m128i tmp = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&state[0]), 0xB1);    // CDAB
  __m128i state1 = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&state[4]), 0x1B); // EFGH
  __m128i state0 = _mm_alignr_epi8(tmp, state1, 8);                                       // ABEF
  state1 = _mm_blend_epi16(state1, tmp, 0xF0);                                            // CDGH
  for (; nblocks > 0; nblocks--, p += 64) {
    const __m128i abef = state0, cdgh = state1;
    __m128i m0 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 0)), mask);
    __m128i m1 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16)), mask);
    __m128i m2 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 32)), mask);
    __m128i m3 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 48)), mask);
    SHANI_ROUNDS(m0, 0);
    SHANI_ROUNDS(m1, 1);
    SHANI_ROUNDS(m2, 2);
    SHANI_ROUNDS(m3, 3);
    for (int g = 4; g < 16; g += 4) {
      SHANI_SCHEDULE(m0, m1, m2, m3); SHANI_ROUNDS(m0, g);
      SHANI_SCHEDULE(m1, m2, m3, m0); SHANI_ROUNDS(m1, g + 1);
      SHANI_SCHEDULE(m2, m3, m0, m1); SHANI_ROUNDS(m2, g + 2);
      SHANI_SCHEDULE(m3, m0, m1, m2); SHANI_ROUNDS(m3, g + 3);
    }
    state0 = _mm_add_epi32(state0, abef);
    state1 = _mm_add_epi32(state1, cdgh);
  }
  tmp = _mm_shuffle_epi32(state0, 0x1B);       // FEBA
  state1 = _mm_shuffle_epi32(state1, 0xB1);    // DCHG
  state0 = _mm_blend_epi16(tmp, state1, 0xF0); // DCBA
  state1 = _mm_alignr_epi8(state1, tmp, 8);    // HGFE
  _mm_storeu_si128((__m128i *)&state[0], state0);
  _mm_storeu_si128((__m128i *)&state[4], state1);
}

static int detect_shani(void) {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
  const int sse41 = (c >> 19) & 1, ssse3 = (c >> 9) & 1;
  if (__get_cpuid_max(0, 0) < 7) return 0;
  __cpuid_count(7, 0, a, b, c, d);
  return sse41 && ssse3 && ((b >> 29) & 1);
}
#endif

/// 1 when the SHA-NI path is used, 0 for portable C. CPUID runs once (it can trap to the hypervisor
/// on virtual machines, so it must not run per call); the racy first write stores the same value.
int cshims_sha256_hardware(void) {
#if defined(__x86_64__) || defined(__i386__)
  static volatile int cached = -1;
  int v = cached;
  if (v < 0) cached = v = detect_shani();
  return v;
#else
  return 0;
#endif
}

void cshims_sha256_blocks(uint32_t state[8], const uint8_t *p, size_t nblocks) {
#if defined(__x86_64__) || defined(__i386__)
  if (cshims_sha256_hardware()) {
    sha256_blocks_shani(state, p, nblocks);
    return;
  }
#endif
  cshims_sha256_blocks_portable(state, p, nblocks);
}
