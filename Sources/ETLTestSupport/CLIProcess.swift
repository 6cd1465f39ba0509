import Foundation

/// Runs the built `chartmogul-etl` binary as a separate process, the way a user or cron would.
public struct CLIProcess {
  /// The binary next to the test bundle (`<scratch>/debug/chartmogul-etl`).
  public static var binary: String {
    get throws {
      let here = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
      var dir = here.deletingLastPathComponent()
      for _ in 0..<4 {
        let candidate = dir.appendingPathComponent("chartmogul-etl").path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        dir.deleteLastPathComponent()
      }
      let fallback = RepositoryPaths.root + "/.build/debug/chartmogul-etl"
      if FileManager.default.isExecutableFile(atPath: fallback) { return fallback }
      throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: "chartmogul-etl (build it with swift build)"])
    }
  }

  public struct Result: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
    public var output: String { stdout + stderr }
    public init(status: Int32, stdout: String, stderr: String) {
      self.status = status
      self.stdout = stdout
      self.stderr = stderr
    }
  }

  /// Starts the CLI; the caller waits or kills. Output goes to files so large output never blocks.
  public static func start(
    _ arguments: [String], environment: [String: String] = [:], directory: String, outputPrefix: String
  ) throws -> Process {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: try binary)
    p.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    env["CI"] = "true"
    for (k, v) in environment { env[k] = v }
    p.environment = env
    p.currentDirectoryURL = URL(fileURLWithPath: directory)
    FileManager.default.createFile(atPath: outputPrefix + ".out", contents: nil)
    FileManager.default.createFile(atPath: outputPrefix + ".err", contents: nil)
    p.standardOutput = FileHandle(forWritingAtPath: outputPrefix + ".out")
    p.standardError = FileHandle(forWritingAtPath: outputPrefix + ".err")
    p.standardInput = FileHandle.nullDevice
    try p.run()
    return p
  }

  /// Runs the CLI to completion in `directory` and returns its exit status and output.
  public static func run(
    _ arguments: [String], environment: [String: String] = [:], directory: String
  ) throws -> Result {
    let prefix = directory + "/.cli-\(UUID().uuidString)"
    let p = try start(arguments, environment: environment, directory: directory, outputPrefix: prefix)
    p.waitUntilExit()
    let out = (try? String(contentsOfFile: prefix + ".out", encoding: .utf8)) ?? ""
    let err = (try? String(contentsOfFile: prefix + ".err", encoding: .utf8)) ?? ""
    try? FileManager.default.removeItem(atPath: prefix + ".out")
    try? FileManager.default.removeItem(atPath: prefix + ".err")
    return Result(status: p.terminationStatus, stdout: out, stderr: err)
  }
}
