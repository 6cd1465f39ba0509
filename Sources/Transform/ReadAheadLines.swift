import Foundation
import Staging

/// Reads an NDJSON file on a second thread that turns each line into a value (`read`), while the
/// calling thread consumes the values in line order (`use`). Transform's pass 2 spends about as long
/// scanning and mapping lines (pure functions of the line) as building fragments (which updates the
/// customer index and trackers and must see payments in file order), so the two halves run on the
/// two cores and the output is exactly what one thread would produce.
///
/// Lines travel in batches of `batchLines` through a queue of at most `depth` batches, so memory
/// stays bounded (a few MiB) whatever the file size. Each value comes with its line number and the
/// line's bytes (copied into the batch), for rejects that quote the record. An error on either side
/// stops both: the reader's error is rethrown here, and a consumer error stops the reader before it
/// returns.
enum ReadAheadLines {
  /// One batch: the values of the lines that produced one, their line numbers and bytes, and how
  /// many lines were read in all (for progress).
  final class Batch<T>: @unchecked Sendable {
    var values: [T] = []
    var lines: [Int] = []
    var bytes: [UInt8] = []
    var ends: [Int] = []
    var linesRead = 0

    init(capacity: Int) {
      values.reserveCapacity(capacity)
      lines.reserveCapacity(capacity)
      ends.reserveCapacity(capacity)
      bytes.reserveCapacity(capacity * 1024)
    }

    func reset() {
      values.removeAll(keepingCapacity: true)
      lines.removeAll(keepingCapacity: true)
      bytes.removeAll(keepingCapacity: true)
      ends.removeAll(keepingCapacity: true)
      linesRead = 0
    }
  }

  /// A blocking queue of full batches (reader → consumer) and of emptied ones (consumer → reader).
  final class Channel<T>: @unchecked Sendable {
    private let cond = NSCondition()
    private var full: [Batch<T>] = []
    private var empty: [Batch<T>] = []
    private var finished = false
    private var stopped = false
    private var failure: (any Error)? = nil
    let depth: Int

    init(depth: Int) { self.depth = depth }

    /// Reader side: hands over a batch; false when the consumer has stopped.
    func send(_ b: Batch<T>) -> Bool {
      cond.lock()
      defer { cond.unlock() }
      while full.count >= depth && !stopped { cond.wait() }
      if stopped { return false }
      full.append(b)
      cond.broadcast()
      return true
    }

    /// Reader side: a used batch to refill, or nil (make one). The reader empties it itself, so the
    /// values' memory is freed by the thread that allocated it (glibc's malloc locks the owning
    /// arena on a free from another thread; freeing on the consumer side cost ~40 % more CPU).
    func recycled() -> Batch<T>? {
      cond.lock()
      let b = empty.popLast()
      cond.unlock()
      b?.reset()
      return b
    }

    func finish(_ error: (any Error)?) {
      cond.lock()
      finished = true
      failure = error
      cond.broadcast()
      cond.unlock()
    }

    /// Consumer side: the next batch, nil at the end; rethrows the reader's error.
    func receive() throws -> Batch<T>? {
      cond.lock()
      defer { cond.unlock() }
      while full.isEmpty && !finished { cond.wait() }
      if !full.isEmpty {
        let b = full.removeFirst()
        cond.broadcast()
        return b
      }
      if let failure { throw failure }
      return nil
    }

    func giveBack(_ b: Batch<T>) {
      cond.lock()
      if empty.count < depth + 1 { empty.append(b) }
      cond.unlock()
    }

    /// Consumer side: stop the reader (it sees `send` fail and returns).
    func stop() {
      cond.lock()
      stopped = true
      full.removeAll()
      cond.broadcast()
      cond.unlock()
    }
  }

  struct Stopped: Error {}

  /// False on a one-core machine or with `ETL_TRANSFORM_THREADS=1`: read and use on one thread.
  static let threaded: Bool = {
    if let v = ProcessInfo.processInfo.environment["ETL_TRANSFORM_THREADS"], let n = Int(v) { return n > 1 }
    return ProcessInfo.processInfo.activeProcessorCount > 1
  }()

  /// A byte range of the file and its first line number; `skip` sections are not read, their
  /// `lines` only counted (see `FileSection`).
  struct Section {
    var bytes: Range<Int64>
    var firstLine: Int
    var lines: Int
    var skip: Bool

    /// The file's sections with `skipKinds` marked to skip (nil: read the whole file).
    static func plan(_ sections: [FileSection]?, skipKinds: Set<String>) -> [Section]? {
      guard let sections else { return nil }
      var out: [Section] = []
      var at: Int64 = 0
      var line = 1
      for s in sections {
        out.append(
          Section(bytes: at..<(at + s.bytes), firstLine: line, lines: s.lines, skip: skipKinds.contains(s.kind)))
        at += s.bytes
        line += s.lines
      }
      return out
    }
  }

  /// Reads `path` with `read` on a second thread and passes each non-nil value, in line order, to
  /// `use` with its line number and bytes; `lines` and `progress` are told how many lines were read
  /// or skipped (on this thread, before the batch's values). With `sections`, the ones marked `skip`
  /// are not read at all.
  static func run<T>(
    path: String, sections: [Section]? = nil, batchLines: Int = 512, depth: Int = 4,
    threaded: Bool = ReadAheadLines.threaded, progress: any ProgressSink,
    read: @escaping (UnsafeRawBufferPointer, Int) throws -> T?,
    lines: (Int) -> Void = { _ in },
    use: (T, Int, UnsafeRawBufferPointer) throws -> Void
  ) throws {
    let parts: [Section?] = sections ?? [nil]
    if !threaded {
      let reader = NDJSONReader(path: path)
      for part in parts {
        if let part, part.skip {
          lines(part.lines)
          progress.advance(by: part.lines)
          continue
        }
        try reader.forEachLine(section: part.map { ($0.bytes, $0.firstLine) }) { bytes, line in
          lines(1)
          if let v = try read(bytes, line) { try use(v, line, bytes) }
          progress.advance(by: 1)
        }
      }
      return
    }
    let channel = Channel<T>(depth: depth)
    let done = DispatchSemaphore(value: 0)
    let work = UncheckedSendable(read)
    let thread = Thread {
      defer { done.signal() }
      let reader = NDJSONReader(path: path)
      var batch = channel.recycled() ?? Batch<T>(capacity: batchLines)
      do {
        for part in parts {
          if let part, part.skip {
            batch.linesRead += part.lines
            continue
          }
          try reader.forEachLine(section: part.map { ($0.bytes, $0.firstLine) }) { bytes, line in
            batch.linesRead += 1
            if let v = try work.value(bytes, line) {
              batch.values.append(v)
              batch.lines.append(line)
              batch.bytes.append(contentsOf: bytes)
              batch.ends.append(batch.bytes.count)
            }
            if batch.linesRead >= batchLines {
              guard channel.send(batch) else { throw Stopped() }
              batch = channel.recycled() ?? Batch<T>(capacity: batchLines)
            }
          }
        }
        if batch.linesRead > 0 { guard channel.send(batch) else { throw Stopped() } }
        channel.finish(nil)
      } catch is Stopped {
        channel.finish(nil)
      } catch {
        channel.finish(error)
      }
    }
    thread.stackSize = 8 << 20
    thread.start()
    defer { done.wait() }
    do {
      while let batch = try channel.receive() {
        lines(batch.linesRead)
        try batch.bytes.withUnsafeBytes { raw in
          var start = 0
          for i in batch.values.indices {
            let end = batch.ends[i]
            try use(batch.values[i], batch.lines[i], UnsafeRawBufferPointer(rebasing: raw[start..<end]))
            start = end
          }
        }
        progress.advance(by: batch.linesRead)
        channel.giveBack(batch)
      }
    } catch {
      channel.stop()
      throw error
    }
  }
}
