import RevenueCore

extension ActivityFormat {
  /// The format a `date_format`/`decimal` pair names (`FilesSource.dateFormats`); nil for an unknown one.
  package init?(dateFormat: String?, decimal: String?) {
    self.init()
    switch dateFormat {
    case "MM/DD/YYYY", nil: break
    case "DD/MM/YYYY": order = .dmy
    case "DD.MM.YYYY":
      order = .dmy
      separator = "."
    case "DD-MM-YYYY":
      order = .dmy
      separator = "-"
    default: return nil
    }
    if decimal == "comma" { self.decimal = .comma }
  }
}
