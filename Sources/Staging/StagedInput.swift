import Foundation
import RevenueCore

#if canImport(Glibc)
  import Glibc
#endif

/// A staged file differs from what the stage that wrote it recorded: it was edited, truncated,
/// replaced by a link, or is not listed at all. The stage reading it stops before using any record
/// of it, and the CLI exits 4 (`exitCode`): staged data is not trustworthy, which is neither a
/// configuration problem (2) nor records that failed (1). The fix is always to rerun the stage
/// that wrote the file.
public struct StagedFileMismatch: Error, Sendable, CustomStringConvertible {
  public static let exitCode: Int32 = 4
  /// `transform/invoices.ndjson`.
  public var file: String
  public var problem: String
  /// The stage that wrote the file (to rerun).
  public var producer: String
  public var runID: String

  public var description: String {
    "\(file) \(problem): it was changed after \(producer) wrote it; rerun `\(producer) --run-id \(runID)`"
  }
}

/// Verifies the files a stage reads against the manifest of the stage that wrote them, before the
/// first record is used: size, line count and SHA-256 must match the manifest entry, the file must be a
/// regular file owned by us in the (real, unlinked) stage folder of the run. The entries returned are
/// computed from the bytes read, so the reading stage's manifest records what it actually consumed.
///
/// A file changed between this check and the read that follows would still be read; the staging
/// folder is private to the user running the ETL (`StagingSafety`), which is what closes that window.
public enum StagedInput {
  /// Verifies `names` (files of `manifest`, the published manifest of `stage` in `run`). A name the
  /// manifest does not list is refused if such a file exists (it was not written by `stage`) and
  /// skipped otherwise. Files are checked in parallel; the result is in the order of `names`.
  public static func verify(run: RunFolder, stage: String, manifest: Manifest, names: [String]) throws -> [FileEntry] {
    try StagingSafety.checkRun(run)
    let dir = run.stagePath(stage)
    try StagingSafety.checkFolder(dir, what: "stage folder")
    var listed: [FileEntry] = []
    for name in names {
      guard PipelineFile.isSafeName(name) else {
        throw StagedFileMismatch(
          file: "\(stage)/\(name)", problem: "is not a file name a stage writes", producer: stage, runID: run.id)
      }
      if let e = manifest.file(name) {
        listed.append(e)
      } else if FileSystem.exists(dir + "/" + name) || StagingSafety.isLink(dir + "/" + name) {
        throw StagedFileMismatch(
          file: "\(stage)/\(name)", problem: "is not listed in \(stage)/manifest.json", producer: stage, runID: run.id)
      }
    }
    let results = Results(count: listed.count)
    let files = listed
    let runID = run.id
    DispatchQueue.concurrentPerform(iterations: files.count) { i in
      results.set(
        i, Result { try verify(path: dir + "/" + files[i].name, entry: files[i], stage: stage, runID: runID) })
    }
    return try results.all()
  }

  /// One slot per file, filled by the parallel checks.
  private final class Results: @unchecked Sendable {
    // Guarded by `lock`.
    private var slots: [Result<FileEntry, Error>]
    private let lock = NSLock()
    init(count: Int) { slots = Array(repeating: .failure(StagingError("not checked")), count: count) }
    func set(_ i: Int, _ r: Result<FileEntry, Error>) { lock.withLock { slots[i] = r } }
    func all() throws -> [FileEntry] { try lock.withLock { slots }.map { try $0.get() } }
  }

  /// Verifies one file of `stage` in run `runID` (e.g. another run's customer index).
  public static func verify(path: String, entry: FileEntry, stage: String, runID: String) throws -> FileEntry {
    let display = "\(stage)/\(entry.name)"
    func mismatch(_ problem: String) -> StagedFileMismatch {
      StagedFileMismatch(file: display, problem: problem, producer: stage, runID: runID)
    }
    let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
    if fd < 0 {
      let e = errno
      if e == ELOOP { throw mismatch("is a symbolic link, not the file \(stage) wrote") }
      if e == ENOENT { throw mismatch("is listed in \(stage)/manifest.json but missing") }
      throw StagingError("cannot open \(path): \(String(cString: strerror(e)))")
    }
    defer { close(fd) }
    do { try StagingSafety.checkOpenFile(fd, path: path, what: "staged file") } catch {
      throw mismatch("cannot be trusted (\(error))")
    }
    let actual = try measure(fd: fd, path: path, name: entry.name)
    if actual.bytes != entry.bytes {
      throw mismatch("does not match its manifest (\(actual.bytes) bytes, expected \(entry.bytes))")
    }
    if actual.lines != entry.lines {
      throw mismatch("does not match its manifest (\(actual.lines) lines, expected \(entry.lines))")
    }
    if actual.sha256 != entry.sha256 {
      throw mismatch("does not match its manifest (sha256 \(actual.sha256), expected \(entry.sha256))")
    }
    return actual
  }

  /// Line count (newlines), size and SHA-256 of an open file, read from its start.
  static func measure(fd: Int32, path: String, name: String) throws -> FileEntry {
    var hasher = SHA256()
    var bytes: Int64 = 0
    var lines = 0
    let size = 4 << 20
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 16)
    defer { buffer.deallocate() }
    var offset: off_t = 0
    while true {
      let n = pread(fd, buffer.baseAddress!, size, offset)
      if n < 0 {
        if errno == EINTR { continue }
        throw StagingError("cannot read \(path): \(String(cString: strerror(errno)))")
      }
      if n == 0 { break }
      let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
      hasher.update(chunk)
      var p = chunk.baseAddress!
      var left = n
      while left > 0, let nl = memchr(p, 0x0A, left) {
        lines += 1
        let next = UnsafeRawPointer(nl) + 1
        left -= next - p
        p = next
      }
      bytes += Int64(n)
      offset += off_t(n)
    }
    return FileEntry(name: name, lines: lines, bytes: bytes, sha256: hasher.finalizeHex())
  }
}
