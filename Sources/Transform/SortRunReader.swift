import Foundation
import Staging
import SystemShims

#if canImport(Glibc)
  import Glibc
#endif

/// Pull-based line reader over a file with a large buffer (lines stay valid until the next `next()`).
///
/// With `releaseConsumed`, the file's bytes already read are given back to the file system as the
/// reading goes (`fallocate` punching a hole every `releaseStep` bytes): a merge of sort runs then
/// never needs their whole size plus the output's at once, and the output it writes reuses the
/// pages the runs just left (on a virtual machine whose freed memory goes back to the host, writing
/// into fresh pages costs several times more). A file system that cannot punch holes is simply read.
struct SortRunReader {
  private let fd: Int32
  private var buf: UnsafeMutablePointer<UInt8>
  private var cap: Int
  private var start = 0
  private var filled = 0
  private var eof = false
  private var releaseConsumed: Bool
  private var offset: Int64 = 0
  private var released: Int64 = 0
  static let releaseStep: Int64 = 1 << 20
  private(set) var current = UnsafeBufferPointer<UInt8>(start: nil, count: 0)

  init(path: String, capacity: Int = 1 << 20, releaseConsumed: Bool = false) throws {
    fd = open(path, (releaseConsumed ? O_RDWR : O_RDONLY) | O_CLOEXEC)
    guard fd >= 0 else { throw StagingError("cannot open \(path): \(String(cString: strerror(errno)))") }
    cap = capacity
    buf = .allocate(capacity: cap)
    self.releaseConsumed = releaseConsumed
  }

  /// Punches out `released..<offset` once it is a full step (or the whole file at the end).
  private mutating func release(final: Bool) {
    guard releaseConsumed, offset - released >= (final ? 1 : Self.releaseStep) else { return }
    if cshims_punch_hole(fd, released, offset - released) == 0 {
      released = offset
    } else {
      releaseConsumed = false
    }
  }

  /// Advances to the next line; false at the end (and releases the file).
  mutating func next() throws -> Bool {
    while true {
      if start < filled, let nl = memchr(buf + start, 0x0A, filled - start) {
        let end = UnsafeMutableRawPointer(nl).assumingMemoryBound(to: UInt8.self) - buf
        current = UnsafeBufferPointer(start: buf + start, count: end - start)
        start = end + 1
        return true
      }
      if eof {
        if start < filled {
          current = UnsafeBufferPointer(start: buf + start, count: filled - start)
          start = filled
          return true
        }
        release(final: true)
        close(fd)
        buf.deallocate()
        cap = 0
        return false
      }
      if start > 0 {
        memmove(buf, buf + start, filled - start)
        filled -= start
        start = 0
      }
      if filled == cap {
        let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: cap * 2)
        bigger.update(from: buf, count: filled)
        buf.deallocate()
        buf = bigger
        cap *= 2
      }
      let n = read(fd, buf + filled, cap - filled)
      if n < 0 {
        if errno == EINTR { continue }
        throw StagingError("cannot read a sort run: \(String(cString: strerror(errno)))")
      }
      if n == 0 {
        eof = true
      } else {
        filled += n
        offset += Int64(n)
        release(final: false)
      }
    }
  }
}
