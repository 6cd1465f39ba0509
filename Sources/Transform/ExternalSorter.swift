import Foundation
import Staging
import SystemShims

#if canImport(Glibc)
  import Glibc
#endif

/// Sorts lines (byte order, whole line) with bounded memory: lines are collected in a chunk, each
/// full chunk is sorted and written as a run file, and the runs are merged when reading back.
/// Memory is bounded by `maxRecords`/`maxBytes` per chunk, whatever the number of lines.
///
/// A full chunk is sorted and written by a background worker while the caller fills the other
/// chunk (two chunks of at most `maxBytes` exist at once); a worker error is thrown by the next
/// `add` or by `drain`. The merge keeps the runs' current lines in a binary heap.
final class ExternalSorter {
  let directory: String
  let maxRecords: Int
  let maxBytes: Int
  private var chunk = Chunk()
  private var runs: [String] = []
  private(set) var count = 0
  private let worker = DispatchQueue(label: "external-sorter")
  private let inFlight = DispatchSemaphore(value: 1)
  private let state = WorkerState()

  /// Lines of one chunk: their bytes back to back and the start of each (end = next start).
  struct Chunk: @unchecked Sendable {
    var buffer: [UInt8] = []
    var offsets: [Int] = []
  }

  /// What the worker hands back: the first error, and the emptied chunk for reuse.
  final class WorkerState: @unchecked Sendable {
    let lock = NSLock()
    var failure: (any Error)? = nil
    var spare: Chunk? = nil
  }

  init(directory: String, maxRecords: Int, maxBytes: Int = 12 << 20) throws {
    self.directory = directory
    self.maxRecords = maxRecords
    self.maxBytes = maxBytes
    try FileSystem.makeDirectory(directory)
  }

  deinit { worker.sync {} }

  /// Appends one line built by `body` (which must not write a newline).
  func add(_ body: (inout [UInt8]) -> Void) throws {
    chunk.offsets.append(chunk.buffer.count)
    body(&chunk.buffer)
    count += 1
    if chunk.offsets.count >= maxRecords || chunk.buffer.count >= maxBytes { try flushRun() }
  }

  /// Indices of a chunk's lines in sorted order.
  static func sortedOrder(_ c: Chunk) -> [Int] {
    let n = c.offsets.count
    var order = Array(0..<n)
    c.buffer.withUnsafeBufferPointer { buf in
      guard let base = buf.baseAddress else { return }
      let total = buf.count
      c.offsets.withUnsafeBufferPointer { offs in
        func range(_ i: Int) -> (Int, Int) { (offs[i], (i + 1 < n ? offs[i + 1] : total)) }
        order.sort { a, b in
          let (sa, ea) = range(a)
          let (sb, eb) = range(b)
          return ExternalSorter.less(base + sa, ea - sa, base + sb, eb - sb)
        }
      }
    }
    return order
  }

  private func checkWorker() throws {
    state.lock.lock()
    defer { state.lock.unlock() }
    if let f = state.failure { throw f }
  }

  /// Hands the full chunk to the worker (waiting while it still writes the previous one).
  private func flushRun() throws {
    guard !chunk.offsets.isEmpty else { return }
    inFlight.wait()
    do { try checkWorker() } catch {
      inFlight.signal()
      throw error
    }
    var full = state.lock.withLock { () -> Chunk in
      let c = state.spare ?? Chunk()
      state.spare = nil
      return c
    }
    swap(&full, &chunk)
    let path = directory + "/run-\(runs.count).tmp"
    runs.append(path)
    let box = UncheckedSendable(Box(consume full))
    worker.async { [state, inFlight] in
      defer { inFlight.signal() }
      var c = Chunk()
      swap(&c, &box.value.chunk)
      do {
        try ExternalSorter.writeRun(c, to: path)
      } catch {
        state.lock.withLock { if state.failure == nil { state.failure = error } }
      }
      c.buffer.removeAll(keepingCapacity: true)
      c.offsets.removeAll(keepingCapacity: true)
      state.lock.withLock { state.spare = c }
    }
  }

  final class Box {
    var chunk: Chunk
    init(_ c: Chunk) { chunk = c }
  }

  /// Sorts a chunk and writes it as one run file.
  static func writeRun(_ c: Chunk, to path: String) throws {
    let order = sortedOrder(c)
    let n = c.offsets.count
    let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw StagingError("cannot create \(path): \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var out: [UInt8] = []
    out.reserveCapacity((1 << 20) + 4096)
    func spill() throws {
      try out.withUnsafeBytes { try FileSystem.writeAll(fd, $0, path: path) }
      out.removeAll(keepingCapacity: true)
    }
    try c.buffer.withUnsafeBufferPointer { buf in
      for i in order {
        let s = c.offsets[i]
        let e = i + 1 < n ? c.offsets[i + 1] : buf.count
        out.append(contentsOf: UnsafeBufferPointer(rebasing: buf[s..<e]))
        out.append(0x0A)
        if out.count >= 1 << 20 { try spill() }
      }
    }
    try spill()
  }

  @inline(__always)
  static func less(_ a: UnsafePointer<UInt8>, _ la: Int, _ b: UnsafePointer<UInt8>, _ lb: Int) -> Bool {
    let c = memcmp(a, b, min(la, lb))
    return c != 0 ? c < 0 : la < lb
  }

  /// No more lines will be added: writes the last chunk as a run (unless everything fit in one
  /// chunk) and frees both chunks' memory before the merge, so the next phase starts lean.
  func finishInput() throws {
    guard !runs.isEmpty else { return }
    try flushRun()
    worker.sync {}
    try checkWorker()
    chunk = Chunk()
    state.lock.withLock { state.spare = nil }
  }

  /// Calls `body` with every line in sorted order, then deletes the run files.
  func drain(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
    if runs.isEmpty {
      // Everything fit in one chunk: no run files at all.
      let order = Self.sortedOrder(chunk)
      let n = chunk.offsets.count
      try chunk.buffer.withUnsafeBytes { raw in
        for i in order {
          let s = chunk.offsets[i]
          let e = i + 1 < n ? chunk.offsets[i + 1] : raw.count
          try body(UnsafeRawBufferPointer(rebasing: raw[s..<e]))
        }
      }
      chunk = Chunk()
      return
    }
    defer {
      worker.sync {}
      for r in runs { unlink(r) }
      runs.removeAll()
    }
    try flushRun()
    worker.sync {}
    try checkWorker()
    chunk = Chunk()
    state.lock.withLock { state.spare = nil }
    var readers = try runs.map { try SortRunReader(path: $0, capacity: 256 << 10, releaseConsumed: true) }
    // Binary min-heap of the readers that have a current line (ties: lower run first, so equal
    // lines come out in run order, as the linear scan did).
    var heap: [Int] = []
    for i in readers.indices where try readers[i].next() { heap.append(i) }
    func lessAt(_ a: Int, _ b: Int) -> Bool {
      let x = readers[a].current
      let y = readers[b].current
      let c = memcmp(x.baseAddress!, y.baseAddress!, min(x.count, y.count))
      if c != 0 { return c < 0 }
      if x.count != y.count { return x.count < y.count }
      return a < b
    }
    func siftDown(_ start: Int) {
      var i = start
      let n = heap.count
      while true {
        let l = 2 * i + 1
        if l >= n { return }
        var m = l
        if l + 1 < n && lessAt(heap[l + 1], heap[l]) { m = l + 1 }
        if !lessAt(heap[m], heap[i]) { return }
        heap.swapAt(i, m)
        i = m
      }
    }
    if heap.count > 1 {
      for i in stride(from: heap.count / 2 - 1, through: 0, by: -1) { siftDown(i) }
    }
    while let top = heap.first {
      try body(UnsafeRawBufferPointer(readers[top].current))
      if try readers[top].next() {
        siftDown(0)
      } else {
        heap[0] = heap[heap.count - 1]
        heap.removeLast()
        if !heap.isEmpty { siftDown(0) }
      }
    }
  }
}
