import CYaml

/// Bounds on a pipeline file, checked on the raw YAML event stream before any node tree is built.
///
/// YAML anchors and aliases (`&a`, `*a`) let a few hundred bytes stand for billions of nodes (the
/// "billion laughs" file), and Yams resolves them while composing, so they are refused outright: a
/// pipeline file never needs them (the YAML 1.2 spec, https://yaml.org/spec/1.2.2/#3222-anchors-and-aliases,
/// defines them as references, which is what makes the expansion exponential). The file's size and
/// its number of nodes are bounded too, so a hostile or runaway file fails fast with a clear message.
public enum YAMLLimits {
  /// Largest pipeline file read (a real one is a few KiB; 20,000 plan mappings are ~1.2 MiB).
  public static let maxFileBytes = 8 << 20
  /// Most YAML events (scalars, mapping and sequence starts) in one file.
  public static let maxEvents = 2_000_000
  /// Deepest nesting of mappings and sequences.
  public static let maxDepth = 64

  /// Throws a `ConfigError` naming the line of the first anchor, alias, or limit crossed.
  public static func check(_ text: String, file: String) throws {
    let size = text.utf8.count
    guard size <= maxFileBytes else {
      throw ConfigError(
        file: file, line: nil, key: nil,
        message: "is \(size) bytes; a pipeline file may be at most \(maxFileBytes) bytes")
    }
    var bytes = Array(text.utf8)
    var parser = yaml_parser_t()
    guard yaml_parser_initialize(&parser) == 1 else {
      throw ConfigError(file: file, line: nil, key: nil, message: "cannot be parsed (out of memory)")
    }
    defer { yaml_parser_delete(&parser) }
    try bytes.withUnsafeMutableBufferPointer { buffer in
      yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
      var events = 0
      var depth = 0
      while true {
        var event = yaml_event_t()
        // A syntax error is left for the composer, which reports it with its position.
        guard yaml_parser_parse(&parser, &event) == 1 else { return }
        defer { yaml_event_delete(&event) }
        let line = Int(event.start_mark.line) + 1
        func refuse(_ message: String) -> ConfigError {
          ConfigError(file: file, line: line, key: nil, message: message)
        }
        var anchor: UnsafeMutablePointer<yaml_char_t>? = nil
        switch event.type {
        case YAML_STREAM_END_EVENT:
          return
        case YAML_ALIAS_EVENT:
          throw refuse("uses a YAML alias (*name); anchors and aliases are not supported, write the value out")
        case YAML_SCALAR_EVENT:
          anchor = event.data.scalar.anchor
        case YAML_SEQUENCE_START_EVENT:
          anchor = event.data.sequence_start.anchor
          depth += 1
        case YAML_MAPPING_START_EVENT:
          anchor = event.data.mapping_start.anchor
          depth += 1
        case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
          depth -= 1
        default:
          break
        }
        if anchor != nil {
          throw refuse("uses a YAML anchor (&name); anchors and aliases are not supported, write the value out")
        }
        events += 1
        if events > maxEvents { throw refuse("has more than \(maxEvents) YAML values; split or shorten it") }
        if depth > maxDepth { throw refuse("nests mappings and lists more than \(maxDepth) levels deep") }
      }
    }
  }
}
