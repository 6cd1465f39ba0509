import Foundation

/// A parsed pipeline file (README "Pipeline files"): its name, where its staging folder is, and the raw sections
/// that each stage module reads with its own typed parser (`ExtractConfig`, `TransformConfig`, …).
public struct PipelineFile: Sendable {
  /// Top-level keys a pipeline file may have.
  public static let topLevelKeys = [
    "name", "staging_root", "sources", "transform", "destination", "validate", "monitoring", "alerts",
    "schedule", "retention",
  ]

  public let path: String
  public let name: String
  /// SHA-256 of the file's bytes, recorded in `run.json`.
  public let sha256: String
  /// `staging_root` (default `staging`, relative to the current directory).
  public let stagingRoot: String
  public let root: ConfigMapping

  /// Reads and checks a pipeline file. Unknown top-level keys and a missing or unsafe `name` are errors.
  public static func load(path: String, environment: Environment) throws -> PipelineFile {
    // Read at most one byte more than the limit: a huge file (or /dev/zero) is refused, not slurped.
    guard let handle = FileHandle(forReadingAtPath: path),
      let data = try? handle.read(upToCount: YAMLLimits.maxFileBytes + 1) ?? Data()
    else {
      throw ConfigError(file: path, line: nil, key: nil, message: "cannot be read (does the file exist?)")
    }
    try? handle.close()
    guard data.count <= YAMLLimits.maxFileBytes else {
      throw ConfigError(
        file: path, line: nil, key: nil,
        message: "is larger than \(YAMLLimits.maxFileBytes) bytes, the most a pipeline file may be")
    }
    guard let text = String(data: data, encoding: .utf8) else {
      throw ConfigError(file: path, line: nil, key: nil, message: "is not UTF-8 text")
    }
    return try PipelineFile(text: text, path: path, sha256: SHA256.hex(data), environment: environment)
  }

  public init(text: String, path: String, sha256: String? = nil, environment: Environment) throws {
    let node = try ConfigNode.parse(yaml: text, file: path, environment: environment)
    let root = try node.mapping(allowed: PipelineFile.topLevelKeys)
    let name = try root.requiredString("name")
    guard PipelineFile.isSafeName(name) else {
      throw root.child("name")!.error(
        "'\(name)' may only contain letters, digits, '-', '_' and '.', and must not start with '.'")
    }
    self.path = path
    self.name = name
    self.sha256 = sha256 ?? SHA256.hex(Array(text.utf8))
    self.stagingRoot = try root.string("staging_root") ?? "staging"
    self.root = root
  }

  /// Names that can be used as one path component: no `/`, no `..`, no leading dot.
  public static func isSafeName(_ s: String) -> Bool {
    !s.isEmpty && s.count <= 128 && !s.hasPrefix(".")
      && s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") }
  }

  public func section(_ key: String, allowed: [String]?) throws(ConfigError) -> ConfigMapping? {
    try root.mapping(key, allowed: allowed)
  }
}
