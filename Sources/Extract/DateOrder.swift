import RevenueCore

/// Which day/month order a PayPal Activity file writes its `Date` column in — settled from the whole
/// file before any of its rows is staged, so a date is never read in the wrong order silently
/// (`03/04/2026` is 4 March in a US download and 3 April in a UK one).
///
/// A declared `date_format` that some row contradicts — the row reads in another order but not in
/// this one (a value above 12 where the month stands, a day the month does not have, another
/// separator) — refuses the file, naming the rows and the order the file does read in. Without
/// `date_format` the order is the only one every row reads in; a file whose every date reads both
/// ways is refused with that message. A cell that is no date in any order (`31/31/31`) decides
/// nothing: it is that row's own problem, rejected with its line in transform.
struct DateOrder {
  /// The `date_format` values, their order (month first?) and separator.
  static let formats: [(name: String, monthFirst: Bool, separator: Character)] = [
    ("MM/DD/YYYY", true, "/"), ("DD/MM/YYYY", false, "/"), ("DD.MM.YYYY", false, "."), ("DD-MM-YYYY", false, "-"),
  ]

  /// Rows (line, text) a format cannot read, the first few of them, and how many.
  struct Misfits {
    var lines: [(Int, String)] = []
    var count = 0
    mutating func add(_ line: Int, _ text: String) {
      count += 1
      if lines.count < 3 { lines.append((line, text)) }
    }
    var described: String {
      lines.map { "line \($0.0) '\($0.1)'" }.joined(separator: ", ")
        + (count > lines.count ? " and \(count - lines.count) more" : "")
    }
  }

  private(set) var misfits: [Misfits] = Array(repeating: Misfits(), count: formats.count)
  private(set) var rows = 0
  private(set) var firstAmbiguous: (Int, String)? = nil

  /// Records one row's `Date` cell (empty cells are left to the row's own checks).
  mutating func add(_ text: String, line: Int) {
    let t = text.trimmingASCIIWhitespace()
    guard !t.isEmpty else { return }
    let fitting = Self.formats.map { Self.reads(t, monthFirst: $0.monthFirst, separator: $0.separator) }
    let fits = fitting.filter { $0 }.count
    guard fits > 0 else { return }
    rows += 1
    for i in fitting.indices where !fitting[i] { misfits[i].add(line, t) }
    if fits > 1 && firstAmbiguous == nil { firstAmbiguous = (line, t) }
  }

  static func reads(_ t: String, monthFirst: Bool, separator: Character) -> Bool {
    let p = t.split(separator: separator, omittingEmptySubsequences: false)
    guard p.count == 3, p[2].count == 4, let a = Int(p[0]), let b = Int(p[1]), let y = Int(p[2]) else { return false }
    let (m, d) = monthFirst ? (a, b) : (b, a)
    return Timestamp.utc(y, m, d, 0, 0, 0) != nil && (1...12).contains(m) && (1...31).contains(d)
  }

  /// The order to read the file with, or the reason to refuse it.
  func decide(declared: String?, path: String) -> Result<String, FilesError> {
    let fitting = Self.formats.indices.filter { misfits[$0].count == 0 }.map { Self.formats[$0].name }
    if let declared, let i = Self.formats.firstIndex(where: { $0.name == declared }) {
      if misfits[i].count == 0 { return .success(declared) }
      let other =
        fitting.first.map { "; every row reads as \($0): set date_format: \($0)" }
        ?? "; no date_format reads every row, so fix those rows"
      return .failure(
        FilesError(
          "\(path): date_format \(declared) contradicts the file: \(misfits[i].count) of \(rows) dates cannot be read that way (\(misfits[i].described))\(other). Nothing was staged."
        ))
    }
    if rows == 0 { return .success(declared ?? Self.formats[0].name) }
    switch fitting.count {
    case 1: return .success(fitting[0])
    case 0:
      let best = Self.formats.indices.min { misfits[$0].count < misfits[$1].count }!
      return .failure(
        FilesError(
          "\(path): the Date column reads in none of \(Self.formats.map(\.name).joined(separator: ", ")) (as \(Self.formats[best].name): \(misfits[best].described)); fix those rows. Nothing was staged."
        ))
    default:
      let example = firstAmbiguous.map { " (e.g. line \($0.0) '\($0.1)')" } ?? ""
      return .failure(
        FilesError(
          "\(path): cannot decide the date order: every date reads both as \(fitting.joined(separator: " and "))\(example); set date_format for this file. Nothing was staged."
        ))
    }
  }
}
