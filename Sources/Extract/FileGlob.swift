import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Expands a pipeline `path` (relative to the current directory) that may hold `*`, `?` or `[…]`
/// with glob(3). Results are regular files in byte order (deterministic whatever the locale); no match
/// is an error naming the pattern.
enum FileGlob {
  static func hasMagic(_ pattern: String) -> Bool { pattern.contains { $0 == "*" || $0 == "?" || $0 == "[" } }

  /// The first folder of the pattern's fixed prefix that does not exist, if any.
  static func missingFolder(_ pattern: String) -> String? {
    var prefix: [Substring] = []
    for part in pattern.split(separator: "/", omittingEmptySubsequences: false).dropLast() {
      if hasMagic(String(part)) { break }
      prefix.append(part)
      let folder = prefix.joined(separator: "/")
      if !folder.isEmpty, !FileManager.default.fileExists(atPath: folder) { return folder }
    }
    return nil
  }

  static func expand(_ pattern: String) throws -> [String] {
    var g = glob_t()
    defer { globfree(&g) }
    let rc = glob(pattern, GLOB_ERR, nil, &g)
    if rc == GLOB_NOMATCH || (rc == 0 && g.gl_pathc == 0) {
      throw FilesError(
        hasMagic(pattern)
          ? "path '\(pattern)' matches no file (relative paths start at \(FileManager.default.currentDirectoryPath))"
          : "file '\(pattern)' does not exist (relative paths start at \(FileManager.default.currentDirectoryPath))")
    }
    if rc == GLOB_ABORTED, let folder = FileGlob.missingFolder(pattern) {
      throw FilesError(
        "path '\(pattern)' matches no file: folder '\(folder)' does not exist (relative paths start at \(FileManager.default.currentDirectoryPath))"
      )
    }
    guard rc == 0 else {
      throw FilesError("path '\(pattern)' cannot be expanded (glob error \(rc): unreadable folder?)")
    }
    var out: [String] = []
    for i in 0..<Int(g.gl_pathc) {
      guard let p = g.gl_pathv[i] else { continue }
      let s = String(cString: p)
      var st = stat()
      if stat(s, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG { out.append(s) }
    }
    guard !out.isEmpty else { throw FilesError("path '\(pattern)' matches only folders, no files") }
    return out.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
  }
}

/// A problem with an export file or a `sources.files` entry that stops the extract (names the file).
struct FilesError: Error, Sendable, CustomStringConvertible {
  var message: String
  init(_ message: String) { self.message = message }
  var description: String { message }
}
