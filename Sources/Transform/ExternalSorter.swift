import Foundation
import Staging

#if canImport(Glibc)
  import Glibc
#endif

/// Sorts lines (byte order, whole line) with bounded memory: lines are collected in a chunk, each
/// full chunk is sorted and written as a run file, and the runs are merged when reading back.
/// Memory is bounded by `maxRecords`/`maxBytes` per chunk, whatever the number of lines.
final class ExternalSorter {
  let directory: String
  let maxRecords: Int
  let maxBytes: Int
  private var buffer: [UInt8] = []
  private var offsets: [Int] = []  // start of each line in `buffer`; end = next start
  private var runs: [String] = []
  private(set) var count = 0

  init(directory: String, maxRecords: Int, maxBytes: Int = 32 << 20) throws {
    self.directory = directory
    self.maxRecords = maxRecords
    self.maxBytes = maxBytes
    try FileSystem.makeDirectory(directory)
  }

  /// Appends one line built by `body` (which must not write a newline).
  func add(_ body: (inout [UInt8]) -> Void) throws {
    offsets.append(buffer.count)
    body(&buffer)
    count += 1
    if offsets.count >= maxRecords || buffer.count >= maxBytes { try flushRun() }
  }

  /// Indices of the buffered lines in sorted order.
  private func sortedOrder() -> [Int] {
    let n = offsets.count
    var order = Array(0..<n)
    buffer.withUnsafeBufferPointer { buf in
      let base = buf.baseAddress!
      let total = buf.count
      let offs = offsets
      func range(_ i: Int) -> (Int, Int) { (offs[i], (i + 1 < n ? offs[i + 1] : total)) }
      order.sort { a, b in
        let (sa, ea) = range(a)
        let (sb, eb) = range(b)
        return ExternalSorter.less(base + sa, ea - sa, base + sb, eb - sb)
      }
    }
    return order
  }

  private func flushRun() throws {
    guard !offsets.isEmpty else { return }
    let order = sortedOrder()
    let n = offsets.count
    let path = directory + "/run-\(runs.count).tmp"
    let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw StagingError("cannot create \(path): \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var out: [UInt8] = []
    out.reserveCapacity(1 << 20)
    func spill() throws {
      var off = 0
      while off < out.count {
        let w = out.withUnsafeBytes { write(fd, $0.baseAddress! + off, $0.count - off) }
        if w < 0 {
          if errno == EINTR { continue }
          throw StagingError("cannot write \(path): \(String(cString: strerror(errno)))")
        }
        off += w
      }
      out.removeAll(keepingCapacity: true)
    }
    for i in order {
      let s = offsets[i]
      let e = i + 1 < n ? offsets[i + 1] : buffer.count
      out.append(contentsOf: buffer[s..<e])
      out.append(0x0A)
      if out.count >= 1 << 20 { try spill() }
    }
    try spill()
    runs.append(path)
    buffer.removeAll(keepingCapacity: true)
    offsets.removeAll(keepingCapacity: true)
  }

  @inline(__always)
  static func less(_ a: UnsafePointer<UInt8>, _ la: Int, _ b: UnsafePointer<UInt8>, _ lb: Int) -> Bool {
    let c = memcmp(a, b, min(la, lb))
    return c != 0 ? c < 0 : la < lb
  }

  /// Calls `body` with every line in sorted order, then deletes the run files.
  func drain(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
    if runs.isEmpty {
      // Everything fit in one chunk: no run files at all.
      let order = sortedOrder()
      let n = offsets.count
      try buffer.withUnsafeBytes { raw in
        for i in order {
          let s = offsets[i]
          let e = i + 1 < n ? offsets[i + 1] : raw.count
          try body(UnsafeRawBufferPointer(rebasing: raw[s..<e]))
        }
      }
      buffer.removeAll()
      offsets.removeAll()
      return
    }
    try flushRun()
    defer {
      for r in runs { unlink(r) }
      runs.removeAll()
    }
    var readers = try runs.map { try LineReader(path: $0) }
    var heads: [Bool] = []
    for i in readers.indices { heads.append(try readers[i].next()) }
    while true {
      var best = -1
      for i in readers.indices where heads[i] {
        if best < 0 {
          best = i
          continue
        }
        let x = readers[i].current
        let y = readers[best].current
        if ExternalSorter.less(x.baseAddress!, x.count, y.baseAddress!, y.count) { best = i }
      }
      if best < 0 { break }
      try body(UnsafeRawBufferPointer(readers[best].current))
      heads[best] = try readers[best].next()
    }
  }
}

/// Pull-based line reader over a file with a large buffer (lines stay valid until the next `next()`).
struct LineReader {
  private let fd: Int32
  private var buf: UnsafeMutablePointer<UInt8>
  private var cap: Int
  private var start = 0
  private var filled = 0
  private var eof = false
  private(set) var current = UnsafeBufferPointer<UInt8>(start: nil, count: 0)

  init(path: String, capacity: Int = 1 << 20) throws {
    fd = open(path, O_RDONLY)
    guard fd >= 0 else { throw StagingError("cannot open \(path): \(String(cString: strerror(errno)))") }
    cap = capacity
    buf = .allocate(capacity: cap)
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
      if n == 0 { eof = true } else { filled += n }
    }
  }
}
