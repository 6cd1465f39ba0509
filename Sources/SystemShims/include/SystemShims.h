#ifndef SYSTEM_SHIMS_H
#define SYSTEM_SHIMS_H
#include <stddef.h>
#include <stdint.h>
/// Starts the kernel's writeback of bytes [offset, offset+length) of fd without waiting for it
/// (sync_file_range SYNC_FILE_RANGE_WRITE); a later fsync then has less to wait for. Returns 0 or -1.
int cshims_start_writeback(int fd, long long offset, long long length);

/// Gives bytes [offset, offset+length) of fd back to the file system, size unchanged (fallocate
/// FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE). Returns 0 or -1 with errno set (EOPNOTSUPP where the
/// file system cannot).
int cshims_punch_hole(int fd, long long offset, long long length);

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
/// Returns free heap memory to the kernel (glibc malloc_trim(0)); 1 if some was released.
int cshims_release_free_memory(void);
#endif
