#ifndef CSHIMS_H
#define CSHIMS_H
/// Atomically exchanges two paths (Linux renameat2 RENAME_EXCHANGE). Returns 0 or -1 with errno set.
int cshims_rename_exchange(const char *a, const char *b);
/// Peak resident set size of this process in bytes (getrusage ru_maxrss).
long long cshims_peak_rss_bytes(void);
#endif
