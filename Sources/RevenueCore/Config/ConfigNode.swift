import Yams

/// A pipeline-file problem, always pointing at the file, the line and the key, with what to do.
public struct ConfigError: Error, Sendable, CustomStringConvertible {
  public var file: String
  public var line: Int?
  public var key: String?
  public var message: String
  /// The problem is only an environment variable that is not set. A command that does not use the
  /// setting (e.g. `extract` and the destination's `${CHARTMOGUL_API_KEY}`) checks the rest of the
  /// section and ignores this kind.
  public var missingEnvironment: Bool

  public init(file: String, line: Int?, key: String?, message: String, missingEnvironment: Bool = false) {
    self.file = file
    self.line = line
    self.key = key
    self.message = message
    self.missingEnvironment = missingEnvironment
  }

  /// The message with every environment value and secret redacted (`ConfigRedaction`).
  public var description: String {
    var place = file
    if let line { place += ":\(line)" }
    if let key { return ConfigRedaction.redact("\(place): key '\(key)': \(message)") }
    return ConfigRedaction.redact("\(place): \(message)")
  }
}

/// The process environment, injectable so tests never depend on the real one.
public struct Environment: Sendable {
  public var values: [String: String]
  public init(_ values: [String: String]) { self.values = values }
  public subscript(name: String) -> String? { values[name] }
}

/// One node of a pipeline file with its position, for typed reads with exact error locations.
///
/// Scalars are `${VAR}`/`${VAR:-default}`-expanded when read, so a variable is only required when
/// the setting that uses it is read (a `transform` run does not need the ChartMogul key).
public final class ConfigNode: @unchecked Sendable {
  // Immutable after construction.
  public enum Content: Sendable {
    case scalar(String)
    case mapping([(String, ConfigNode)])
    case sequence([ConfigNode])
    case null
  }
  public let file: String
  public let path: String
  public let line: Int
  public let content: Content
  let environment: Environment
  /// Position of each key in a mapping's entries, so a lookup is O(1) and reading every key of a
  /// 20,000-entry `plan_mapping` stays linear.
  let keyIndex: [String: Int]

  init(file: String, path: String, line: Int, content: Content, environment: Environment) {
    self.file = file
    self.path = path
    self.line = line
    self.content = content
    self.environment = environment
    if case .mapping(let entries) = content {
      var index = [String: Int](minimumCapacity: entries.count)
      for (i, e) in entries.enumerated() where index[e.0] == nil { index[e.0] = i }
      keyIndex = index
    } else {
      keyIndex = [:]
    }
  }

  public func error(_ message: String) -> ConfigError {
    ConfigError(file: file, line: line, key: path.isEmpty ? nil : path, message: message)
  }

  /// Parses YAML text into a node tree. Errors carry the file and line of the YAML problem.
  public static func parse(yaml: String, file: String, environment: Environment) throws -> ConfigNode {
    try YAMLLimits.check(yaml, file: file)
    let node: Node?
    do {
      node = try Yams.compose(yaml: yaml)
    } catch let e as YamlError {
      var line: Int? = nil
      if case .scanner(_, _, let mark, _) = e { line = mark.line }
      if case .parser(_, _, let mark, _) = e { line = mark.line }
      if case .composer(_, _, let mark, _) = e { line = mark.line }
      throw ConfigError(file: file, line: line, key: nil, message: "is not valid YAML: \(e)")
    }
    guard let node else { throw ConfigError(file: file, line: 1, key: nil, message: "is empty") }
    return try convert(node, file: file, path: "", environment: environment)
  }

  private static func convert(_ node: Node, file: String, path: String, environment: Environment) throws -> ConfigNode {
    let line = node.mark?.line ?? 0
    switch node {
    case .scalar(let s):
      if s.style == .plain && (s.string == "~" || s.string == "null" || s.string.isEmpty) {
        return ConfigNode(file: file, path: path, line: line, content: .null, environment: environment)
      }
      return ConfigNode(file: file, path: path, line: line, content: .scalar(s.string), environment: environment)
    case .mapping(let m):
      var out: [(String, ConfigNode)] = []
      out.reserveCapacity(m.count)
      var seen = Set<String>(minimumCapacity: m.count)
      for (k, v) in m {
        guard case .scalar(let ks) = k else {
          throw ConfigError(file: file, line: k.mark?.line, key: path, message: "mapping keys must be plain text")
        }
        let key = ks.string
        if !seen.insert(key).inserted {
          throw ConfigError(
            file: file, line: k.mark?.line, key: path.isEmpty ? key : "\(path).\(key)", message: "is given twice")
        }
        let childPath = path.isEmpty ? key : "\(path).\(key)"
        out.append((key, try convert(v, file: file, path: childPath, environment: environment)))
      }
      return ConfigNode(file: file, path: path, line: line, content: .mapping(out), environment: environment)
    case .sequence(let seq):
      var items: [ConfigNode] = []
      for (i, v) in seq.enumerated() {
        items.append(try convert(v, file: file, path: "\(path)[\(i)]", environment: environment))
      }
      return ConfigNode(file: file, path: path, line: line, content: .sequence(items), environment: environment)
    case .alias:
      // Unreachable after `YAMLLimits.check` (Yams resolves aliases while composing); kept as a guard.
      throw ConfigError(file: file, line: line, key: path, message: "YAML aliases are not supported")
    }
  }

  // MARK: - Typed access

  /// This node as a mapping; `allowed` lists the keys it may have (others are an error, so a typo
  /// never silently disables a setting). Pass nil to allow any key (e.g. `plan_mapping`).
  public func mapping(allowed: [String]?) throws(ConfigError) -> ConfigMapping {
    switch content {
    case .mapping(let m):
      if let allowed {
        for (k, node) in m where !allowed.contains(k) {
          let suggestion = ConfigNode.closest(k, in: allowed).map { " (did you mean '\($0)'?)" } ?? ""
          throw ConfigError(
            file: file, line: node.line, key: node.path,
            message: "is not a known key\(suggestion); expected one of: \(allowed.joined(separator: ", "))")
        }
      }
      return ConfigMapping(node: self, entries: m)
    case .null:
      return ConfigMapping(node: self, entries: [])
    default:
      throw error("must be a mapping of keys to values")
    }
  }

  public var isNull: Bool { if case .null = content { return true } else { return false } }

  /// The expanded scalar text; sequences and mappings are an error.
  public func scalar() throws(ConfigError) -> String {
    guard case .scalar(let raw) = content else { throw error("must be a single value") }
    return try expand(raw)
  }

  public func sequence() throws(ConfigError) -> [ConfigNode] {
    switch content {
    case .sequence(let s): return s
    case .null: return []
    default: throw error("must be a list")
    }
  }

  /// Expands `${VAR}` and `${VAR:-default}`; `$$` is a literal `$`.
  func expand(_ raw: String) throws(ConfigError) -> String {
    guard raw.contains("$") else { return raw }
    var out = ""
    var i = raw.startIndex
    while i < raw.endIndex {
      let c = raw[i]
      if c == "$" {
        let next = raw.index(after: i)
        if next < raw.endIndex, raw[next] == "$" {
          out.append("$")
          i = raw.index(after: next)
          continue
        }
        if next < raw.endIndex, raw[next] == "{" {
          guard let close = raw[next...].firstIndex(of: "}") else {
            throw error("has an unterminated '${' in '\(raw)'")
          }
          let inner = String(raw[raw.index(after: next)..<close])
          let name: String
          var fallback: String? = nil
          if let r = inner.range(of: ":-") {
            name = String(inner[..<r.lowerBound])
            fallback = String(inner[r.upperBound...])
          } else {
            name = inner
          }
          guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
            throw error("has an invalid variable reference '${\(inner)}'")
          }
          if let v = environment[name], !v.isEmpty {
            ConfigRedaction.shared.remember(v, from: name)
            out += v
          } else if let fallback {
            out += fallback
          } else {
            var unset = error(
              "needs the environment variable \(name), which is not set (set it, or write ${\(name):-default})")
            unset.missingEnvironment = true
            throw unset
          }
          i = raw.index(after: close)
          continue
        }
      }
      out.append(c)
      i = raw.index(after: i)
    }
    return out
  }

  static func closest(_ word: String, in candidates: [String]) -> String? {
    func distance(_ a: [Character], _ b: [Character]) -> Int {
      var prev = Array(0...b.count)
      for (i, ca) in a.enumerated() {
        var cur = [i + 1] + Array(repeating: 0, count: b.count)
        for (j, cb) in b.enumerated() {
          cur[j + 1] = min(prev[j + 1] + 1, cur[j] + 1, prev[j] + (ca == cb ? 0 : 1))
        }
        prev = cur
      }
      return prev[b.count]
    }
    let w = Array(word)
    let best = candidates.map { ($0, distance(w, Array($0))) }.min { $0.1 < $1.1 }
    guard let best, best.1 <= max(2, word.count / 3) else { return nil }
    return best.0
  }
}

/// A mapping node with typed getters. Every getter names the key, file and line on error.
public struct ConfigMapping: Sendable {
  public let node: ConfigNode
  public let entries: [(String, ConfigNode)]

  public var keys: [String] { entries.map(\.0) }

  public func child(_ key: String) -> ConfigNode? {
    let n: ConfigNode
    if let i = node.keyIndex[key], i < entries.count, entries[i].0 == key {
      n = entries[i].1
    } else if node.keyIndex.isEmpty, let found = entries.first(where: { $0.0 == key })?.1 {
      n = found
    } else {
      return nil
    }
    guard !n.isNull else { return nil }
    return n
  }

  public func has(_ key: String) -> Bool { child(key) != nil }

  func missing(_ key: String) -> ConfigError {
    ConfigError(
      file: node.file, line: node.line, key: node.path.isEmpty ? key : "\(node.path).\(key)",
      message: "is required but missing")
  }

  public func string(_ key: String) throws(ConfigError) -> String? {
    guard let n = child(key) else { return nil }
    return try n.scalar()
  }

  public func requiredString(_ key: String) throws(ConfigError) -> String {
    guard let s = try string(key), !s.isEmpty else { throw missing(key) }
    return s
  }

  /// A secret setting (API key, password): read like a string, registered with the redactor so it can
  /// never reach a log line, a staged file or an error message.
  public func secret(_ key: String) throws(ConfigError) -> Secret? {
    guard let s = try string(key), !s.isEmpty else { return nil }
    return Secret(s)
  }

  public func requiredSecret(_ key: String) throws(ConfigError) -> Secret {
    guard let s = try secret(key) else { throw missing(key) }
    return s
  }

  public func int(_ key: String, default d: Int, range: ClosedRange<Int>? = nil) throws(ConfigError) -> Int {
    guard let n = child(key) else { return d }
    let s = try n.scalar()
    guard let v = Int(s.trimmingASCIIWhitespace()) else { throw n.error("'\(s)' is not a whole number") }
    if let range, !range.contains(v) {
      throw n.error("\(v) is out of range \(range.lowerBound)…\(range.upperBound)")
    }
    return v
  }

  public func optionalInt(_ key: String, range: ClosedRange<Int>? = nil) throws(ConfigError) -> Int? {
    guard has(key) else { return nil }
    return try int(key, default: 0, range: range)
  }

  public func double(_ key: String, default d: Double, range: ClosedRange<Double>? = nil) throws(ConfigError)
    -> Double
  {
    guard let n = child(key) else { return d }
    let s = try n.scalar().trimmingASCIIWhitespace()
    let percent = s.hasSuffix("%")
    guard let raw = Double(percent ? String(s.dropLast()) : s) else { throw n.error("'\(s)' is not a number") }
    let v = percent ? raw / 100 : raw
    if let range, !range.contains(v) { throw n.error("\(s) is out of range \(range.lowerBound)…\(range.upperBound)") }
    return v
  }

  public func bool(_ key: String, default d: Bool) throws(ConfigError) -> Bool {
    guard let n = child(key) else { return d }
    switch try n.scalar().lowercased() {
    case "true", "yes", "on", "1": return true
    case "false", "no", "off", "0": return false
    case let s: throw n.error("'\(s)' is not true or false")
    }
  }

  /// A date (`2024-01-01`) or timestamp.
  public func timestamp(_ key: String) throws(ConfigError) -> Timestamp? {
    guard let n = child(key) else { return nil }
    let s = try n.scalar()
    guard let t = Timestamp.parse(s) else { throw n.error("'\(s)' is not a date (YYYY-MM-DD)") }
    return t
  }

  /// One of a fixed set of words.
  public func choice(_ key: String, _ options: [String], default d: String) throws(ConfigError) -> String {
    guard let n = child(key) else { return d }
    let s = try n.scalar()
    guard options.contains(s) else { throw n.error("'\(s)' is not one of: \(options.joined(separator: ", "))") }
    return s
  }

  public func mapping(_ key: String, allowed: [String]?) throws(ConfigError) -> ConfigMapping? {
    guard let n = child(key) else { return nil }
    return try n.mapping(allowed: allowed)
  }

  public func sequence(_ key: String) throws(ConfigError) -> [ConfigNode] {
    guard let n = child(key) else { return [] }
    return try n.sequence()
  }

  public func stringList(_ key: String) throws(ConfigError) -> [String] {
    var out: [String] = []
    for n in try sequence(key) { out.append(try n.scalar()) }
    return out
  }
}
