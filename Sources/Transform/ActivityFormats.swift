import Foundation
import RevenueCore
import TransformRules

/// Per-file settings of PayPal Activity exports, from the pipeline's `sources.files` entries.
struct ActivityFormats {
  var entries: [(pattern: String, format: ActivityFormat)] = []

  init(entries: [(String, ActivityFormat)] = []) { self.entries = entries.map { ($0.0, $0.1) } }

  init(pipeline: PipelineFile) {
    guard let sources = try? pipeline.root.mapping("sources", allowed: nil),
      let files = try? sources.sequence("files")
    else { return }
    for node in files {
      guard let m = try? node.mapping(allowed: nil), (try? m.string("format")) == "paypal-activity-csv",
        let path = try? m.string("path")
      else { continue }
      var f = ActivityFormat()
      switch (try? m.string("date_format")) ?? "MM/DD/YYYY" {
      case "DD/MM/YYYY": f.order = .dmy
      case "DD.MM.YYYY":
        f.order = .dmy
        f.separator = "."
      default: break
      }
      if (try? m.string("decimal")) == "comma" { f.decimal = .comma }
      entries.append((path, f))
    }
  }

  func format(forFile file: String?) -> ActivityFormat {
    guard let file else { return entries.first?.format ?? ActivityFormat() }
    for e in entries where e.pattern == file || fnmatch(e.pattern, file, 0) == 0 { return e.format }
    return entries.count == 1 ? entries[0].format : ActivityFormat()
  }
}
