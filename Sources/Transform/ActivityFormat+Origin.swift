import RevenueCore

extension ActivityFormat {
  /// The format a `date_format`/`decimal` pair names (`FilesSource.dateFormats`); nil for an unknown one.
  init?(dateFormat: String?, decimal: String?) {
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

extension TransformEngine {
  /// How to read a PayPal Activity row: the date order and decimal extract settled for its file
  /// (declared and checked, or detected from the whole file), else the pipeline's entry for it.
  func format(of env: Envelope) -> ActivityFormat {
    if env.originDateFormat != nil, let f = ActivityFormat(dateFormat: env.originDateFormat, decimal: env.originDecimal) {
      return f
    }
    return formats.format(forFile: env.originFile)
  }
}
