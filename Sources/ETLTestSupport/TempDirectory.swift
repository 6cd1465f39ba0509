import Foundation

/// A fresh temporary folder for one test, removed when the value is released.
public final class TempDirectory: @unchecked Sendable {
  // `path` is immutable; removal happens once in deinit.
  public let path: String

  public init(prefix: String = "etl-test") throws {
    var template = Array("\(NSTemporaryDirectory())/\(prefix).XXXXXX".utf8CString)
    guard let p = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
      throw CocoaError(.fileWriteUnknown)
    }
    path = String(cString: p)
  }

  public func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

  /// Writes text to `name` (creating parent folders) and returns its path.
  @discardableResult
  public func write(_ name: String, _ text: String) throws -> String {
    let p = file(name)
    try FileManager.default.createDirectory(
      atPath: (p as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try text.write(toFile: p, atomically: true, encoding: .utf8)
    return p
  }

  deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// The repository root (for fixtures), found from this source file's location.
public enum RepositoryPaths {
  public static var root: String {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
  }
  public static func fixture(_ relative: String) -> String { root + "/fixtures/" + relative }
  /// The text of a fixture file under `fixtures/` (for bodies a fake server answers with verbatim).
  public static func fixtureText(_ relative: String) throws -> String {
    let path = fixture(relative)
    guard let data = FileManager.default.contents(atPath: path) else {
      throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: path])
    }
    return String(decoding: data, as: UTF8.self)
  }
}
