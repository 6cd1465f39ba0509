import ETLTestSupport
import Foundation
import RevenueCore
import Testing

@testable import Staging

@Suite("Staged inputs are verified; staging folders refuse links and foreign permissions")
struct StagedInputTests {
  /// A run whose transform stage holds `invoices.ndjson` (`lines` lines) and `plans.ndjson`.
  func published(_ dir: TempDirectory, lines: Int = 50) throws -> (RunFolder, Manifest) {
    let area = try StagingArea(stagingRoot: dir.file("staging"), pipeline: "test")
    let run = try area.createRun(id: "r1")
    let b = try StageBuilder(run: run, stage: "transform")
    let w = try b.writer("invoices.ndjson")
    for i in 0..<lines { try w.write(["external_id": .string("inv-\(i)"), "amount_in_cents": .int(79900)]) }
    try b.writer("plans.ndjson").write(["external_id": "p1"])
    let m = try b.publish(inputs: [], accounting: Accounting(input: lines + 1, output: lines + 1))
    return (run, m)
  }

  func expectMismatch(_ run: RunFolder, _ m: Manifest, _ names: [String], contains: String) {
    do {
      _ = try StagedInput.verify(run: run, stage: "transform", manifest: m, names: names)
      Issue.record("verification passed; expected a mismatch containing '\(contains)'")
    } catch let e as StagedFileMismatch {
      #expect(e.description.contains(contains), "\(e)")
      #expect(e.description.contains("rerun `transform --run-id r1`"), "\(e)")
    } catch {
      Issue.record("unexpected error \(error)")
    }
  }

  @Test("intact files verify and the entries returned are those of the bytes read")
  func intact() throws {
    let dir = try TempDirectory()
    let (run, m) = try published(dir)
    let got = try StagedInput.verify(
      run: run, stage: "transform", manifest: m, names: ["plans.ndjson", "invoices.ndjson", "cancellations.ndjson"])
    #expect(got == [m.file("plans.ndjson")!, m.file("invoices.ndjson")!])
  }

  @Test("an edited digit (same size) is caught by its SHA-256 with both checksums in the message")
  func editedDigit() throws {
    let dir = try TempDirectory()
    let (run, m) = try published(dir)
    let path = run.file("transform", "invoices.ndjson")
    let text = try String(contentsOfFile: path, encoding: .utf8)
    try text.replacingOccurrences(of: "79900", with: "99900").write(toFile: path, atomically: false, encoding: .utf8)
    expectMismatch(
      run, m, ["invoices.ndjson"], contains: "transform/invoices.ndjson does not match its manifest (sha256 ")
    expectMismatch(run, m, ["invoices.ndjson"], contains: "expected \(m.file("invoices.ndjson")!.sha256)")
  }

  @Test("removed lines are caught before any record is read")
  func removedLines() throws {
    let dir = try TempDirectory()
    let (run, m) = try published(dir)
    let path = run.file("transform", "invoices.ndjson")
    let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
    try (lines.dropLast(40).joined(separator: "\n") + "\n").write(toFile: path, atomically: false, encoding: .utf8)
    expectMismatch(run, m, ["invoices.ndjson"], contains: "does not match its manifest")
  }

  @Test("a symbolic link to a file outside the run is refused, even with the same bytes")
  func symlinkedFile() throws {
    let dir = try TempDirectory()
    let (run, m) = try published(dir)
    let path = run.file("transform", "invoices.ndjson")
    let outside = dir.file("outside.ndjson")
    try FileManager.default.copyItem(atPath: path, toPath: outside)
    try FileManager.default.removeItem(atPath: path)
    try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: outside)
    expectMismatch(run, m, ["invoices.ndjson"], contains: "symbolic link")
  }

  @Test("a file the manifest does not list is refused; a name that leaves the folder is refused")
  func unlisted() throws {
    let dir = try TempDirectory()
    let (run, m) = try published(dir)
    try "{\"external_id\":\"x\"}\n".write(
      toFile: run.file("transform", "cancellations.ndjson"), atomically: false, encoding: .utf8)
    expectMismatch(run, m, ["cancellations.ndjson"], contains: "is not listed in transform/manifest.json")
    var forged = m
    forged.files.append(FileEntry(name: "../../x.ndjson", lines: 1, bytes: 2, sha256: "00"))
    expectMismatch(run, forged, ["../../x.ndjson"], contains: "is not a file name a stage writes")
  }

  @Test("a symlinked lock is refused and the file it points to is not truncated")
  func symlinkedLock() throws {
    let dir = try TempDirectory()
    let area = try StagingArea(stagingRoot: dir.file("staging"), pipeline: "test")
    try area.prepare()
    let victim = try dir.write("victim.txt", "precious\n")
    try FileManager.default.createSymbolicLink(atPath: area.lockPath, withDestinationPath: victim)
    #expect(throws: StagingError.self) { try RunLock.acquire(area: area, runID: "r1", command: "test") }
    #expect(try String(contentsOfFile: victim, encoding: .utf8) == "precious\n")
  }

  @Test("a symlinked runs/ is refused and nothing is written where it points")
  func symlinkedRuns() throws {
    let dir = try TempDirectory()
    let area = try StagingArea(stagingRoot: dir.file("staging"), pipeline: "test")
    try FileSystem.makeDirectory(area.root)
    let elsewhere = dir.file("elsewhere")
    try FileSystem.makeDirectory(elsewhere)
    try FileManager.default.createSymbolicLink(atPath: area.runsDirectory, withDestinationPath: elsewhere)
    do {
      _ = try area.createRun(id: "r1")
      Issue.record("a run was created through the link")
    } catch let e as StagingError {
      #expect(e.message.contains("symbolic link"), "\(e)")
    }
    #expect(try FileManager.default.contentsOfDirectory(atPath: elsewhere).isEmpty)
  }

  @Test("a reused pipeline folder open to group or others is refused with what to do")
  func openFolder() throws {
    let dir = try TempDirectory()
    let area = try StagingArea(stagingRoot: dir.file("staging"), pipeline: "test")
    try area.prepare()
    chmod(area.root, 0o755)
    do {
      try area.prepare()
      Issue.record("an open folder was accepted")
    } catch let e as StagingError {
      #expect(e.message.contains("open to group or others"), "\(e)")
      #expect(e.message.contains("chmod"), "\(e)")
    }
    chmod(area.root, 0o700)
    try area.prepare()
    if geteuid() == 0 {
      // Root can hand the folder to another user: then it is not ours and is refused.
      chown(area.root, 65534, 65534)
      #expect(throws: StagingError.self) { try area.prepare() }
      chown(area.root, 0, 0)
    }
  }
}
