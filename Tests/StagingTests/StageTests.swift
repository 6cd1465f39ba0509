import ETLTestSupport
import Foundation
import RevenueCore
import Testing

@testable import Staging

@Suite("Stage folders, manifests and the run lock")
struct StageTests {
  func makeRun(_ dir: TempDirectory, id: String = "r1") throws -> RunFolder {
    let area = try StagingArea(stagingRoot: dir.file("staging"), pipeline: "test")
    return try area.createRun(id: id)
  }

  @Test("a published stage has a manifest, balanced accounting and 0700/0600 permissions")
  func publish() throws {
    let dir = try TempDirectory()
    let run = try makeRun(dir)
    let b = try StageBuilder(run: run, stage: "transform")
    try b.writer("customers.ndjson").write(["external_id": "u1"])
    #expect(!run.isComplete("transform"))
    let m = try b.publish(inputs: [], accounting: Accounting(input: 2, output: 1, rejected: 1))
    #expect(run.isComplete("transform"))
    #expect(m.file("customers.ndjson")?.lines == 1)
    #expect(m.verify(stageDirectory: run.stagePath("transform")).isEmpty)
    let dirMode =
      try FileManager.default.attributesOfItem(atPath: run.stagePath("transform"))[.posixPermissions] as? Int
    #expect(dirMode == 0o700)
    let fileMode =
      try FileManager.default.attributesOfItem(atPath: run.file("transform", "customers.ndjson"))[
        .posixPermissions] as? Int
    #expect(fileMode == 0o600)
  }

  @Test("unbalanced accounting refuses to publish and leaves the old stage in place")
  func unbalanced() throws {
    let dir = try TempDirectory()
    let run = try makeRun(dir)
    let first = try StageBuilder(run: run, stage: "extract")
    try first.writer("a.ndjson").write(["v": 1])
    try first.publish(inputs: [], accounting: Accounting(input: 1, output: 1))
    let second = try StageBuilder(run: run, stage: "extract")
    try second.writer("a.ndjson").write(["v": 2])
    #expect(throws: StagingError.self) {
      try second.publish(inputs: [], accounting: Accounting(input: 3, output: 1, rejected: 1), bySource: [:])
    }
    second.abandon()
    let kept = try #require(try run.manifest("extract"))
    #expect(kept.accounting.input == 1)
    #expect(try String(contentsOfFile: run.file("extract", "a.ndjson"), encoding: .utf8) == "{\"v\":1}\n")
  }

  @Test("per-source accounting must balance too")
  func perSource() throws {
    let dir = try TempDirectory()
    let run = try makeRun(dir)
    let b = try StageBuilder(run: run, stage: "extract")
    #expect(throws: StagingError.self) {
      try b.publish(
        inputs: [], accounting: Accounting(input: 2, output: 2),
        bySource: ["stripe": Accounting(input: 2, output: 1), "paypal": Accounting()])
    }
  }

  @Test("republishing swaps the whole folder atomically and removes leftovers of killed attempts")
  func republish() throws {
    let dir = try TempDirectory()
    let run = try makeRun(dir)
    for v in 1...3 {
      let b = try StageBuilder(run: run, stage: "transform")
      try b.writer("x.ndjson").write(["v": .int(v)])
      if v == 2 { try b.writer("only-in-2.ndjson").write(["v": 2]) }
      try b.publish(inputs: [], accounting: Accounting(input: 1, output: 1))
    }
    // A temporary folder left by a killed process is swept by the next builder.
    try FileSystem.makeDirectory(run.path + "/.transform.tmp-999999")
    _ = try StageBuilder(run: run, stage: "transform")
    let names = try FileManager.default.contentsOfDirectory(atPath: run.path)
    #expect(!names.contains(".transform.tmp-999999"))
    #expect(try String(contentsOfFile: run.file("transform", "x.ndjson"), encoding: .utf8) == "{\"v\":3}\n")
    #expect(!FileSystem.exists(run.file("transform", "only-in-2.ndjson")))
  }

  @Test("run ids and file names cannot escape the staging root", arguments: ["../x", "a/b", "..", ".hidden"])
  func unsafeRunIDs(_ id: String) throws {
    let dir = try TempDirectory()
    let area = try StagingArea(stagingRoot: dir.file("staging"), pipeline: "test")
    #expect(throws: ConfigurationError.self) { try area.createRun(id: id) }
    #expect(throws: ConfigurationError.self) { try area.existingRun(id) }
  }

  @Test("a second holder of the lock is refused with the holder's pid and run; a dead holder's lock is taken over")
  func lock() async throws {
    let dir = try TempDirectory()
    let area = try StagingArea(stagingRoot: dir.file("staging"), pipeline: "test")
    try area.prepare()
    // Another process holds the lock (util-linux flock(1) uses the same flock(2) lock).
    try AtomicFile.writeJSON(["pid": 4242, "run_id": "other-run", "command": "run"], to: area.lockPath)
    let holder = Process()
    // One process that opens the lock file, flocks it and becomes `sleep`: killing it frees the lock.
    holder.executableURL = URL(fileURLWithPath: "/bin/sh")
    holder.arguments = ["-c", "exec 9>>\"$0\"; flock 9; exec sleep 30", area.lockPath]
    try holder.run()
    defer { if holder.isRunning { holder.terminate() } }
    // Wait until flock(1) really holds the lock (probe without taking it for long).
    for _ in 0..<100 {
      let fd = open(area.lockPath, O_RDONLY)
      let free = flock(fd, LOCK_SH | LOCK_NB) == 0
      close(fd)
      if !free { break }
      try await Task.sleep(nanoseconds: 50_000_000)
    }
    var refused: LockHeldError? = nil
    do {
      _ = try RunLock.acquire(area: area, runID: "mine", command: "run")
    } catch let e as LockHeldError {
      refused = e
    }
    let e = try #require(refused)
    #expect("\(e)".contains("other-run"))
    #expect("\(e)".contains("4242"))
    #expect(RunLock.currentHolder(area: area) != nil)
    kill(holder.processIdentifier, SIGKILL)
    holder.waitUntilExit()
    let mine = try RunLock.acquire(area: area, runID: "mine", command: "run")
    #expect(mine.previousHolder?["run_id"]?.stringValue == "other-run")
    #expect(throws: LockHeldError.self) { try RunLock.acquire(area: area, runID: "again", command: "load") }
    mine.release()
    #expect(RunLock.currentHolder(area: area) == nil)
  }

  @Test("state cursors are committed per source and survive")
  func state() throws {
    let dir = try TempDirectory()
    let area = try StagingArea(stagingRoot: dir.file("staging"), pipeline: "test")
    let store = StateStore(area: area)
    try store.commit(["stripe": ["created_lt": 100]])
    try store.commit(["paypal": ["end": "2026-01-01"]])
    #expect(try store.cursor(for: "stripe")["created_lt"]?.int64Value == 100)
    #expect(try store.cursor(for: "paypal")["end"]?.stringValue == "2026-01-01")
    #expect(try store.cursor(for: "cashier").count == 0)
  }
}
