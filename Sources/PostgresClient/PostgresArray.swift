import Foundation

/// Text form of a one-dimensional Postgres array (`{"a","b\"c",NULL}`), passed as a parameter value.
/// Every element is quoted and `"`/`\` are backslash-escaped, so any text round-trips exactly.
public enum PostgresArray {
  public static func literal(_ items: [String?]) -> String {
    var out = "{"
    for (i, item) in items.enumerated() {
      if i > 0 { out += "," }
      guard let item else {
        out += "NULL"
        continue
      }
      out += "\""
      for ch in item.unicodeScalars {
        if ch == "\"" || ch == "\\" { out += "\\" }
        out.unicodeScalars.append(ch)
      }
      out += "\""
    }
    return out + "}"
  }

  public static func literal(_ items: [String]) -> String { literal(items.map { Optional($0) }) }
}
