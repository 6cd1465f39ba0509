import Foundation
import RevenueCore

#if canImport(Glibc)
  import Glibc
#endif

/// Another process holds the pipeline lock. The CLI exits 3 with this message.
public struct LockHeldError: Error, Sendable, CustomStringConvertible {
  public var pipeline: String
  public var holder: JSONObject
  public var description: String {
    let pid = holder["pid"]?.scalarText ?? "?"
    let run = holder["run_id"]?.scalarText ?? "?"
    let cmd = holder["command"]?.scalarText ?? "?"
    let since = holder["started_at"]?.scalarText ?? "?"
    let host = holder["host"]?.scalarText ?? "?"
    return
      "pipeline '\(pipeline)' is locked by run \(run) (pid \(pid) on \(host), `\(cmd)`, since \(since)); wait for it to finish"
  }
}

/// The pipeline lock: a non-blocking `flock` on `staging/<pipeline>/lock`.
///
/// The kernel drops an `flock` when its process dies, so a lock left by a killed run is stale by
/// construction: the next run takes it at once and notes whose it was (`previousHolder`).
public final class RunLock: @unchecked Sendable {
  // The descriptor is only used by the owning process; released in `release()`/deinit.
  private var fd: Int32 = -1
  public let path: String
  /// Holder information that was in the file when we took the lock, if its process is gone.
  public private(set) var previousHolder: JSONObject?

  private init(path: String) { self.path = path }

  /// Takes the lock or throws `LockHeldError` naming the holder. Writes our own holder information.
  public static func acquire(area: StagingArea, runID: String, command: String) throws -> RunLock {
    try area.prepare()
    let lock = RunLock(path: area.lockPath)
    // Never through a link: a linked `lock` would be truncated and rewritten wherever it points.
    let fd = try StagingSafety.openNoFollow(area.lockPath, flags: O_RDWR | O_CREAT, what: "the pipeline lock")
    do { try StagingSafety.checkOpenFile(fd, path: area.lockPath, what: "the pipeline lock", private: false) } catch {
      close(fd)
      throw error
    }
    if flock(fd, LOCK_EX | LOCK_NB) != 0 {
      let holder = RunLock.readHolder(fd: fd) ?? JSONObject()
      close(fd)
      throw LockHeldError(pipeline: area.pipeline, holder: holder)
    }
    lock.fd = fd
    if let old = RunLock.readHolder(fd: fd), !old.fields.isEmpty { lock.previousHolder = old }
    var host = [CChar](repeating: 0, count: 256)
    gethostname(&host, 255)
    let holder: JSONValue = [
      "pid": .int(Int(getpid())), "run_id": .string(runID), "command": .string(command),
      "started_at": .string(Timestamp(seconds: Int64(Date().timeIntervalSince1970)).iso8601),
      "host": .string(String(cString: host)),
    ]
    var bytes = JSONWriter.bytes(holder)
    bytes.append(0x0A)
    ftruncate(fd, 0)
    _ = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress!, $0.count, 0) }
    fsync(fd)
    return lock
  }

  /// Who holds (or last held) the lock, without taking it; nil when nobody holds it now.
  public static func currentHolder(area: StagingArea) -> JSONObject? {
    let fd = open(area.lockPath, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    if flock(fd, LOCK_SH | LOCK_NB) == 0 {
      flock(fd, LOCK_UN)
      return nil
    }
    return readHolder(fd: fd)
  }

  static func readHolder(fd: Int32) -> JSONObject? {
    var buf = [UInt8](repeating: 0, count: 4096)
    let n = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress!, $0.count, 0) }
    guard n > 0 else { return nil }
    return (try? JSONParser.parse(Array(buf[0..<n])))?.objectValue
  }

  /// Releases the lock (the file stays, emptied, for the next holder).
  public func release() {
    guard fd >= 0 else { return }
    ftruncate(fd, 0)
    flock(fd, LOCK_UN)
    close(fd)
    fd = -1
  }

  deinit { release() }
}
