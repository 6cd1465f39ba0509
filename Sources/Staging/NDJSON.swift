import Foundation
import SystemShims
import RevenueCore

#if canImport(Glibc)
  import Glibc
#endif

/// A staging-layer failure: unreadable or inconsistent files. Says which file and what to do.
public struct StagingError: Error, Sendable, CustomStringConvertible {
  public var message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}

/// Reads an NDJSON file one line at a time in large chunks, never holding the whole file.
///
/// Lines are split on `\n` bytes (a trailing `\r` is dropped); blank lines are skipped but still
/// counted, so line numbers always match what an editor shows.
public final class NDJSONReader {
  public let path: String
  /// A line longer than this is an error rather than an unbounded allocation.
  public static let maxLineBytes = 64 * 1024 * 1024
  let chunkSize: Int

  public init(path: String, chunkSize: Int = 8 * 1024 * 1024) {
    self.path = path
    self.chunkSize = chunkSize
  }

  /// Calls `body` with each non-empty line's bytes (valid only during the call) and its 1-based number.
  /// With `section`, only that byte range is read, its first line numbered `firstLine` (a range
  /// starting where a line starts, see `FileSection`).
  public func forEachLine(
    section: (bytes: Range<Int64>, firstLine: Int)? = nil, _ body: (UnsafeRawBufferPointer, Int) throws -> Void
  ) throws {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { throw StagingError("cannot open \(path): \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var remaining = Int64.max
    var lineNumber = 0
    if let section {
      guard lseek(fd, off_t(section.bytes.lowerBound), SEEK_SET) == off_t(section.bytes.lowerBound) else {
        throw StagingError("cannot seek in \(path): \(String(cString: strerror(errno)))")
      }
      remaining = section.bytes.upperBound - section.bytes.lowerBound
      lineNumber = section.firstLine - 1
    }
    var buffer = [UInt8](repeating: 0, count: chunkSize)
    var filled = 0
    var eof = false
    while !eof {
      if filled == buffer.count {
        guard buffer.count < NDJSONReader.maxLineBytes else {
          throw StagingError("\(path): line \(lineNumber + 1) is longer than \(NDJSONReader.maxLineBytes) bytes")
        }
        buffer.append(contentsOf: [UInt8](repeating: 0, count: buffer.count))
      }
      let want = Int(min(Int64(buffer.count - filled), remaining))
      let n = want == 0 ? 0 : buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + filled, want) }
      if n < 0 {
        if errno == EINTR { continue }
        throw StagingError("cannot read \(path): \(String(cString: strerror(errno)))")
      }
      if n == 0 { eof = true }
      filled += n
      remaining -= Int64(n)
      var consumed = 0
      try buffer.withUnsafeBytes { raw in
        let base = raw.baseAddress!
        while consumed < filled {
          let remaining = filled - consumed
          guard let nl = memchr(base + consumed, 0x0A, remaining) else {
            if eof {
              lineNumber += 1
              try emit(UnsafeRawBufferPointer(start: base + consumed, count: remaining), lineNumber, body)
              consumed = filled
            }
            break
          }
          let end = UnsafeRawPointer(nl) - base
          lineNumber += 1
          try emit(UnsafeRawBufferPointer(start: base + consumed, count: end - consumed), lineNumber, body)
          consumed = end + 1
        }
      }
      if consumed > 0 {
        if consumed < filled {
          buffer.withUnsafeMutableBytes { raw in
            _ = memmove(raw.baseAddress!, raw.baseAddress! + consumed, filled - consumed)
          }
        }
        filled -= consumed
      }
    }
  }

  @inline(__always)
  private func emit(
    _ line: UnsafeRawBufferPointer, _ number: Int, _ body: (UnsafeRawBufferPointer, Int) throws -> Void
  ) throws {
    var l = line
    if l.count > 0, l[l.count - 1] == 0x0D { l = UnsafeRawBufferPointer(rebasing: l[0..<(l.count - 1)]) }
    if l.isEmpty { return }
    // Whitespace-only lines count as blank.
    if l.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return }
    try body(l, number)
  }

  /// Parses each line as JSON. A line that is not valid JSON is passed as `.failure` so the caller can
  /// reject it with its line number and carry on.
  public func forEachValue(_ body: (Result<JSONValue, JSONParseError>, Int) throws -> Void) throws {
    try forEachLine { bytes, number in
      let result: Result<JSONValue, JSONParseError>
      do throws(JSONParseError) {
        result = .success(try JSONParser.parse(bytes))
      } catch {
        result = .failure(error)
      }
      try body(result, number)
    }
  }

  /// Counts non-blank lines (used for progress denominators when no manifest is available).
  public func countLines() throws -> Int {
    var n = 0
    try forEachLine { _, _ in n += 1 }
    return n
  }
}

/// Description of one finished staged file, as listed in a manifest.
public struct FileEntry: Sendable, Hashable {
  public var name: String
  public var lines: Int
  public var bytes: Int64
  public var sha256: String

  public init(name: String, lines: Int, bytes: Int64, sha256: String) {
    self.name = name
    self.lines = lines
    self.bytes = bytes
    self.sha256 = sha256
  }

  public var json: JSONValue {
    ["name": .string(name), "lines": .int(lines), "bytes": .int(bytes), "sha256": .string(sha256)]
  }

  public init(json: JSONValue) throws(RecordShapeError) {
    let r = try FieldReader(json, what: "file entry")
    name = try r.string("name")
    lines = Int(try r.int("lines"))
    bytes = try r.int("bytes")
    sha256 = try r.string("sha256")
  }
}

/// Writes NDJSON through a 1 MiB buffer, counting lines and hashing as it goes. Files are created
/// 0600 (staged files hold personal data, DESIGN.md §3) and must not exist yet.
///
/// Full buffers are hashed and written by a background worker (`FileSink`) while the caller fills
/// the next one, so a stage's own work overlaps the SHA-256 and the kernel's copy into the page
/// cache (a third of the extract's CPU, a sixth of the transform's). At most two buffers exist at
/// once; a write error is reported by the next `flush`, `write` or `close`, before the stage can
/// publish anything.
public final class NDJSONWriter {
  public let path: String
  public let name: String
  private var buffer: [UInt8] = []
  private let sink: FileSink
  public private(set) var lineCount = 0
  public private(set) var byteCount: Int64 = 0
  private let flushAt = 1 << 20
  private var entry: FileEntry? = nil

  public init(path: String) throws {
    self.path = path
    self.name = (path as NSString).lastPathComponent
    let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw StagingError("cannot create \(path): \(String(cString: strerror(errno)))") }
    sink = FileSink(fd: fd, path: path)
    buffer.reserveCapacity(flushAt + 4096)
  }

  deinit { sink.abandon() }

  /// Writes one value as a line (keys sorted, deterministic).
  public func write(_ value: JSONValue) throws {
    JSONWriter.write(value, into: &buffer)
    buffer.append(0x0A)
    lineCount += 1
    if buffer.count >= flushAt { try flush() }
  }

  /// Writes pre-serialised JSON bytes as one line; `bytes` must not contain a newline.
  public func writeLine<C: Collection>(_ bytes: C) throws where C.Element == UInt8 {
    buffer.append(contentsOf: bytes)
    buffer.append(0x0A)
    lineCount += 1
    if buffer.count >= flushAt { try flush() }
  }

  /// Bytes written so far, buffered ones included: where the next line starts in the file.
  public var position: Int64 { byteCount + Int64(buffer.count) }

  /// Direct access to the output buffer for hand-written serialisers on hot paths; call
  /// `endLine()` after appending one line's bytes (without the newline).
  public func withBuffer(_ body: (inout [UInt8]) -> Void) { body(&buffer) }

  public func endLine() throws {
    buffer.append(0x0A)
    lineCount += 1
    if buffer.count >= flushAt { try flush() }
  }

  /// Hands the buffered bytes to the background worker (waiting while it still writes the previous
  /// buffer) and throws the worker's error, if an earlier write failed.
  public func flush() throws {
    guard !buffer.isEmpty else {
      try sink.check()
      return
    }
    byteCount += Int64(buffer.count)
    var full = try sink.takeSpare(capacity: flushAt + 4096)
    swap(&full, &buffer)
    sink.submit(consume full)
  }

  /// Flushes, waits for the worker, fsyncs and closes; returns the manifest entry.
  @discardableResult
  public func close() throws -> FileEntry {
    if let entry { return entry }
    try flush()
    let digest = try sink.finish()
    let e = FileEntry(name: name, lines: lineCount, bytes: byteCount, sha256: digest)
    entry = e
    return e
  }
}

/// The background half of `NDJSONWriter`: hashes and writes full buffers in order on its own serial
/// queue, starts the kernel's writeback of what it wrote (so the fsync at close has little left to
/// do), and keeps the first error. One buffer is in flight at most.
final class FileSink: @unchecked Sendable {
  private let fd: Int32
  private let path: String
  private let queue: DispatchQueue
  private let slot = DispatchSemaphore(value: 1)
  private let lock = NSLock()
  private var hasher = SHA256()
  private var failure: StagingError? = nil
  private var returned: [UInt8]? = nil
  private var written: Int64 = 0
  private var flushedUpTo: Int64 = 0
  private var isClosed = false

  init(fd: Int32, path: String) {
    self.fd = fd
    self.path = path
    queue = DispatchQueue(label: "ndjson-writer")
  }

  /// Waits until the worker has written the previous buffer (rethrowing its error) and returns that
  /// buffer's storage, emptied, to fill next: two buffers circulate and nothing is allocated in
  /// steady state. The caller then owns the slot and must `submit`.
  func takeSpare(capacity: Int) throws -> [UInt8] {
    slot.wait()
    lock.lock()
    defer { lock.unlock() }
    if let failure {
      slot.signal()
      throw failure
    }
    if let b = returned {
      returned = nil
      return b
    }
    var b: [UInt8] = []
    b.reserveCapacity(capacity)
    return b
  }

  func check() throws {
    lock.lock()
    defer { lock.unlock() }
    if let failure { throw failure }
  }

  /// Moves a full buffer to the worker without sharing its storage (a shared one would be copied
  /// when the caller empties it for reuse).
  private final class Handoff: @unchecked Sendable {
    var bytes: [UInt8]
    init(_ bytes: consuming [UInt8]) { self.bytes = bytes }
  }

  /// Queues a full buffer (after `takeSpare`, which took the slot); the worker frees the slot.
  func submit(_ bytes: consuming [UInt8]) {
    let handoff = Handoff(bytes)
    queue.async { [self] in
      defer { slot.signal() }
      var bytes: [UInt8] = []
      swap(&bytes, &handoff.bytes)
      let ok = lock.withLock { failure == nil }
      guard ok else { return }
      bytes.withUnsafeBytes { hasher.update($0) }
      do { try bytes.withUnsafeBytes { try FileSystem.writeAll(fd, $0, path: path) } } catch {
        lock.withLock { failure = error as? StagingError ?? StagingError("cannot write \(path): \(error)") }
        return
      }
      written += Int64(bytes.count)
      // Start writeback of every complete 8 MiB written so far; fsync then waits on little (on
      // disk staging the transform's close went from ~0.35 s to ~0.02 s).
      if written - flushedUpTo >= 8 << 20 {
        _ = cshims_start_writeback(fd, flushedUpTo, written - flushedUpTo)
        flushedUpTo = written
      }
      bytes.removeAll(keepingCapacity: true)
      lock.withLock { returned = bytes }
    }
  }

  /// Waits for the last buffer, fsyncs and closes; the hex SHA-256 of everything written.
  func finish() throws -> String {
    queue.sync {}
    defer {
      Glibc.close(fd)
      isClosed = true
    }
    try check()
    guard fsync(fd) == 0 || errno == EINVAL || errno == EROFS else {
      throw StagingError("cannot fsync \(path): \(String(cString: strerror(errno)))")
    }
    return queue.sync { hasher.finalizeHexCopy() }
  }

  /// The writer was dropped without `close()` (an error path): wait for the worker, then close.
  func abandon() {
    queue.sync {}
    if !isClosed { Glibc.close(fd) }
    isClosed = true
  }
}

extension SHA256 {
  /// Digest of what has been hashed so far, leaving `self` usable.
  func finalizeHexCopy() -> String {
    var copy = self
    return copy.finalizeHex()
  }
}

/// Small whole-file helpers for JSON documents (manifests, run.json, state.json): written to a
/// temporary file, fsynced and renamed into place so readers see the old or the new version, never half.
public enum AtomicFile {
  public static func write(_ bytes: [UInt8], to path: String, mode: mode_t = 0o600) throws {
    let tmp = path + ".tmp-\(getpid())"
    unlink(tmp)
    let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
    guard fd >= 0 else { throw StagingError("cannot create \(tmp): \(String(cString: strerror(errno)))") }
    do { try bytes.withUnsafeBytes { try FileSystem.writeAll(fd, $0, path: tmp) } } catch {
      Glibc.close(fd)
      throw error
    }
    fsync(fd)
    Glibc.close(fd)
    guard rename(tmp, path) == 0 else {
      throw StagingError("cannot rename \(tmp) to \(path): \(String(cString: strerror(errno)))")
    }
  }

  public static func writeJSON(_ value: JSONValue, to path: String) throws {
    var bytes = JSONWriter.bytes(value)
    bytes.append(0x0A)
    try write(bytes, to: path)
  }

  /// Reads and parses a JSON document; nil when the file does not exist.
  public static func readJSON(_ path: String) throws -> JSONValue? {
    guard let data = FileManager.default.contents(atPath: path) else { return nil }
    do {
      return try JSONParser.parse([UInt8](data))
    } catch {
      throw StagingError("\(path) is not valid JSON (\(error)); delete it or restore it from a backup")
    }
  }
}
