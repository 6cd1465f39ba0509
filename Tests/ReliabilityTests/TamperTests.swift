import ETLTestSupport
import Foundation
import RevenueCore
import Staging
import Testing

/// A stage consumes only what the previous stage wrote: staged files edited, truncated or replaced
/// by links after they were published are refused (exit 4) before any record is used or sent, and the
/// sandbox ends exactly as after a clean run.
@Suite("Tampering: staged files are verified against their manifests", .serialized)
struct TamperTests {
  /// One way of changing a published file: (name, stage folder, file, the change).
  struct Tamper: Sendable {
    var name: String
    var stage: String
    var file: String
    var apply: @Sendable (_ path: String, _ scratch: String) throws -> Void
  }

  static func rewrite(_ path: String, _ change: (String) -> String) throws {
    let text = try String(contentsOfFile: path, encoding: .utf8)
    let changed = change(text)
    #expect(changed != text, "the tampering changed nothing in \(path)")
    // In place, as an editor with write access would (same inode, same permissions).
    let h = try #require(FileHandle(forWritingAtPath: path))
    try h.truncate(atOffset: 0)
    try h.write(contentsOf: Data(changed.utf8))
    try h.close()
  }

  static let tampers: [Tamper] = [
    Tamper(name: "edited amount digit", stage: "transform", file: "invoices.ndjson") { path, _ in
      try rewrite(path) { text in
        // One amount, same length: 1490.00 EGP (149000) → 949000, or the first 5+ digit amount found.
        guard let r = text.range(of: #""amount_in_cents":[1-9][0-9]{3,}"#, options: .regularExpression) else {
          return text
        }
        var s = text
        let digit = s.index(r.lowerBound, offsetBy: "\"amount_in_cents\":".count)
        s.replaceSubrange(digit...digit, with: s[digit] == "9" ? "8" : "9")
        return s
      }
    },
    Tamper(name: "40 invoice lines removed", stage: "transform", file: "invoices.ndjson") { path, _ in
      try rewrite(path) { text in
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        return lines.dropFirst(min(40, lines.count / 2)).joined(separator: "\n")
      }
    },
    Tamper(name: "symlink to a 5-line file outside staging", stage: "transform", file: "invoices.ndjson") {
      path, scratch in
      let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").prefix(5)
      let outside = scratch + "/outside-invoices.ndjson"
      try (lines.joined(separator: "\n") + "\n").write(toFile: outside, atomically: true, encoding: .utf8)
      try FileManager.default.removeItem(atPath: path)
      try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: outside)
    },
    Tamper(name: "customer line appended", stage: "transform", file: "customers.ndjson") { path, _ in
      try rewrite(path) { $0 + "{\"external_id\":\"intruder\",\"name\":\"Mallory\"}\n" }
    },
    Tamper(name: "edited extract record", stage: "extract", file: "files.ndjson") { path, _ in
      try rewrite(path) { text in
        guard let r = text.range(of: "1490.00") else {
          return text.replacingOccurrences(of: "\"USD\"", with: "\"EUR\"")
        }
        return text.replacingCharacters(in: r, with: "9490.00")
      }
    },
  ]

  @Test(
    "every tampered staged file is refused with exit 4 before use; after restoring it, the sandbox equals a clean run's"
  )
  func tamperedFilesNeverReachTheSandbox() async throws {
    // The clean run, in its own world.
    let clean = try await ReliabilityWorld.start()
    for stage in ["extract", "transform", "load"] {
      let r = try await clean.cli([stage, "--pipeline", "pipeline.yaml", "--run-id", "T"])
      try #require(r.status == 0 || r.status == 1, "clean \(stage): \(r.transcript)")
    }
    let reference = try await FinalState.capture(clean, run: "T")
    await clean.stop()

    let world = try await ReliabilityWorld.start()
    for stage in ["extract", "transform"] {
      let r = try await world.cli([stage, "--pipeline", "pipeline.yaml", "--run-id", "T"])
      try #require(r.status == 0 || r.status == 1, "\(stage): \(r.transcript)")
    }
    let run = try world.run("T")
    let empty = await world.sandbox.snapshot()
    let transformBefore = try world.stagedFiles("T", "transform")
    var refused = 0
    for t in Self.tampers {
      let path = run.file(t.stage, t.file)
      let original = try #require(FileManager.default.contents(atPath: path), "\(t.name): \(path) missing")
      try t.apply(path, world.dir.path)
      // The stage after the tampered one: transform reads extract/, load reads transform/.
      let consumer = t.stage == "extract" ? "transform" : "load"
      let r = try await world.cli([consumer, "--pipeline", "pipeline.yaml", "--run-id", "T"])
      #expect(r.status == StagedFileMismatch.exitCode, "\(t.name): \(r.transcript)")
      #expect(r.stderr.contains("\(t.stage)/\(t.file)"), "\(t.name): the message names the file: \(r.stderr)")
      #expect(
        r.stderr.contains("rerun `\(t.stage) --run-id T`"), "\(t.name): the message says what to rerun: \(r.stderr)")
      if r.status == StagedFileMismatch.exitCode { refused += 1 }
      // Nothing reached ChartMogul, and a refused transform left the published one alone.
      #expect(await world.sandbox.snapshot() == empty, "\(t.name): something reached the sandbox")
      #expect(try world.stagedFiles("T", "transform") == transformBefore, "\(t.name): transform/ changed")
      // Restore the published bytes as a real file.
      try? FileManager.default.removeItem(atPath: path)
      #expect(FileManager.default.createFile(atPath: path, contents: original, attributes: [.posixPermissions: 0o600]))
    }
    let load = try await world.cli(["load", "--pipeline", "pipeline.yaml", "--run-id", "T"])
    #expect(load.status == 0 || load.status == 1, "\(load.transcript)")
    let state = try await FinalState.capture(world, run: "T")
    #expect(state.sandbox == reference.sandbox, "after the refused attempts the load equals a clean run's")
    let (lost, duplicated) = FinalState.lostAndDuplicated(state.sandbox, reference: reference.sandbox)
    // load/manifest.json records what load read: the bytes transform published.
    let loadManifest = try #require(try run.manifest("load"))
    let transformManifest = try #require(try run.manifest("transform"))
    for input in loadManifest.inputs { #expect(transformManifest.file(input.name) == input) }
    #expect(loadManifest.inputs.contains { $0.name == "invoices.ndjson" })
    await world.stop()
    ReliabilityFigures.add("tampering", ["tampered": refused, "lost": lost, "duplicated": duplicated])
  }
}
