#define _GNU_SOURCE
#include <stdio.h>
#include <malloc.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/resource.h>
#include "SystemShims.h"

int cshims_rename_exchange(const char *a, const char *b) {
#ifdef SYS_renameat2
  return (int)syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, (1 << 1) /* RENAME_EXCHANGE */);
#else
  return renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE);
#endif
}

long long cshims_peak_rss_bytes(void) {
  struct rusage u;
  if (getrusage(RUSAGE_SELF, &u) != 0) return -1;
  return (long long)u.ru_maxrss * 1024;
}

int cshims_start_writeback(int fd, long long offset, long long length) {
  return sync_file_range(fd, (off64_t)offset, (off64_t)length, SYNC_FILE_RANGE_WRITE);
}

int cshims_punch_hole(int fd, long long offset, long long length) {
  return fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)offset, (off_t)length);
}

int cshims_release_free_memory(void) { return malloc_trim(0); }
