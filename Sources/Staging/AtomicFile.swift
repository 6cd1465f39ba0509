import Foundation
import RevenueCore

#if canImport(Glibc)
  import Glibc
#endif

/// Small whole-file helpers for JSON documents (manifests, run.json, state.json): written to a
/// temporary file, fsynced and renamed into place so readers see the old or the new version, never half.
public enum AtomicFile {
  public static func write(_ bytes: [UInt8], to path: String, mode: mode_t = 0o600) throws {
    let tmp = path + ".tmp-\(getpid())"
    unlink(tmp)
    let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
    guard fd >= 0 else { throw StagingError("cannot create \(tmp): \(String(cString: strerror(errno)))") }
    do { try bytes.withUnsafeBytes { try FileSystem.writeAll(fd, $0, path: tmp) } } catch {
      Glibc.close(fd)
      unlink(tmp)  // a full disk must not leave `<file>.tmp-PID` behind
      throw error
    }
    fsync(fd)
    Glibc.close(fd)
    guard rename(tmp, path) == 0 else {
      unlink(tmp)
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
