import Foundation
import Pipeline
import RevenueCore
import Staging

/// `run --metrics-file PATH`: the figures `serve` shows on `/metrics`, written after every run
/// (whatever its outcome) atomically for node_exporter's textfile collector
/// (https://github.com/prometheus/node_exporter#textfile-collector); PATH should end in `.prom`.
enum MetricsFile {
  static func write(_ options: PipelineOptions, to path: String) {
    do {
      let pipeline = try PipelineFile.load(
        path: options.pipeline, environment: Environment(ProcessInfo.processInfo.environment))
      let area = try StagingArea(stagingRoot: pipeline.stagingRoot, pipeline: pipeline.name)
      try PrometheusText.writeFile(PrometheusText.render(area: area), to: path)
    } catch {
      writeErr("warning: could not write --metrics-file \(path): \(error)\n")
    }
  }
}
