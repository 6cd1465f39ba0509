import Foundation
import Logging
import RevenueCore
import Staging
import SystemShims

/// Progress on stderr: a redrawn bar with count, rate and ETA on a terminal; otherwise one log line
/// every few seconds (CI logs, pipes, `--no-progress`, `TERM=dumb`). anchors.md C.1.
final class ProgressReporter: ProgressSink, @unchecked Sendable {
  // All mutable state is guarded by `lock`.
  private let lock = NSLock()
  private let interactive: Bool
  private let logInterval: Double
  private let logger: Logger
  private var label = ""
  private var total: Int?
  private var done = 0
  private var started = Date()
  private var lastDraw = Date.distantPast
  private var drawn = false

  init(interactive: Bool, logger: Logger, logInterval: Double = 5) {
    self.interactive = interactive
    self.logger = logger
    self.logInterval = logInterval
  }

  /// Decides the renderer: a bar only on a real terminal that is not dumb, outside CI, unless disabled.
  static func make(disabled: Bool, logger: Logger) -> ProgressReporter {
    let env = ProcessInfo.processInfo.environment
    let tty = isatty(STDERR_FILENO) == 1 && env["TERM"] != "dumb" && env["CI"] == nil
    return ProgressReporter(interactive: tty && !disabled, logger: logger)
  }

  func begin(_ label: String, total: Int?) {
    lock.lock()
    defer { lock.unlock() }
    self.label = label
    self.total = total
    done = 0
    started = Date()
    lastDraw = .distantPast
  }

  func advance(by count: Int) {
    lock.lock()
    defer { lock.unlock() }
    done += count
    let now = Date()
    if interactive {
      if now.timeIntervalSince(lastDraw) >= 0.1 { draw(now) }
    } else if now.timeIntervalSince(lastDraw) >= logInterval {
      if lastDraw != .distantPast { logger.info("\(line(now))") }
      lastDraw = now
    }
  }

  func end() {
    lock.lock()
    defer { lock.unlock() }
    if interactive && drawn {
      FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8))
      drawn = false
    }
    // Phase timings for whoever debugs a slow run (`--log-level debug`).
    logger.debug("\(label): \(done.grouped) in \(String(format: "%.2f", Date().timeIntervalSince(started))) s")
  }

  private func line(_ now: Date) -> String {
    let elapsed = max(now.timeIntervalSince(started), 0.001)
    let rate = Double(done) / elapsed
    var s = "\(label)  \(done.grouped)"
    if let total, total > 0 {
      let pct = min(100, Double(done) * 100 / Double(total))
      s += "/\(total.grouped)  \(String(format: "%.1f", pct))%"
      if rate > 0, done < total {
        s += "  ETA \(ProgressReporter.clock(Double(total - done) / rate))"
      }
    }
    s += "  \(Int(rate).grouped)/s"
    return s
  }

  private func draw(_ now: Date) {
    lastDraw = now
    var bar = ""
    if let total, total > 0 {
      let width = 24
      let filled = min(width, done * width / total)
      bar = "[" + String(repeating: "=", count: filled) + String(repeating: " ", count: width - filled) + "] "
    }
    FileHandle.standardError.write(Data("\r\u{1B}[2K\(bar)\(line(now))".utf8))
    drawn = true
  }

  static func clock(_ seconds: Double) -> String {
    let s = Int(seconds.rounded())
    return s >= 3600
      ? String(format: "%d:%02d:%02d", s / 3600, (s % 3600) / 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
  }
}

/// Writes log lines to stderr with every registered secret removed.
struct RedactingLogHandler: LogHandler {
  var logLevel: Logger.Level
  var metadata: Logger.Metadata = [:]
  let label: String

  subscript(metadataKey key: String) -> Logger.Metadata.Value? {
    get { metadata[key] }
    set { metadata[key] = newValue }
  }

  func log(event: LogEvent) {
    var all = metadata
    if let extra = event.metadata { all.merge(extra) { $1 } }
    let meta =
      all.isEmpty ? "" : " " + all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
    let time = Timestamp(seconds: Int64(Date().timeIntervalSince1970)).iso8601
    let text = Redactor.shared.redact("\(time) \(event.level) \(event.message)\(meta)\n")
    FileHandle.standardError.write(Data(text.utf8))
  }
}

/// Prints the one-screen summary of a stage (anchors.md C.2).
enum SummaryPrinter {
  static func print(_ result: StageResult, seconds: Double, run: RunFolder, pipeline: String) {
    var out =
      "\n\(result.stage)  run \(run.id)  pipeline \(pipeline)  finished in \(String(format: "%.1f", seconds))s\n"
    out += "  \(result.accounting.equation)\n"
    for line in result.lines { out += "  \(line)\n" }
    let rate = seconds > 0 ? Double(result.accounting.input) / seconds : 0
    out += "  \(Int(rate).grouped) records/s · peak memory \(peakMemoryMB()) MB\n"
    FileHandle.standardOutput.write(Data(Redactor.shared.redact(out).utf8))
  }

  static func peakMemoryMB() -> Int { Int(cshims_peak_rss_bytes() / 1_048_576) }
}

func writeOut(_ text: String) {
  FileHandle.standardOutput.write(Data(Redactor.shared.redact(text).utf8))
}

func writeErr(_ text: String) {
  FileHandle.standardError.write(Data(Redactor.shared.redact(text).utf8))
}
