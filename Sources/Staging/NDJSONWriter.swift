import Foundation
import RevenueCore

#if canImport(Glibc)
  import Glibc
#endif

/// Writes NDJSON through a 1 MiB buffer, counting lines and hashing as it goes. Files are created
/// 0600 (staged files hold personal data, docs/architecture.md "The staging contract") and must not exist yet.
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
