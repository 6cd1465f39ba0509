#ifndef CSHIMS_H
#define CSHIMS_H
#include <stddef.h>
#include <stdint.h>
/// Atomically exchanges two paths (Linux renameat2 RENAME_EXCHANGE). Returns 0 or -1 with errno set.
int cshims_rename_exchange(const char *a, const char *b);
/// Peak resident set size of this process in bytes (getrusage ru_maxrss).
long long cshims_peak_rss_bytes(void);

/// SHA-256 compression of `nblocks` whole 64-byte blocks into `state` (h0…h7, host order): the x86
/// SHA extensions when CPUID reports them, portable C otherwise. Used by RevenueCore.SHA256.
void cshims_sha256_blocks(uint32_t state[8], const uint8_t *p, size_t nblocks);
/// The portable C compression, always (for tests comparing it with the hardware path).
void cshims_sha256_blocks_portable(uint32_t state[8], const uint8_t *p, size_t nblocks);
/// 1 when cshims_sha256_blocks uses SHA-NI on this CPU, 0 otherwise.
int cshims_sha256_hardware(void);
#endif
