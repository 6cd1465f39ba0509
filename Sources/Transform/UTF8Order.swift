import Foundation

/// Byte-order (UTF-8) comparison of two strings with `memcmp` on their contiguous storage (the
/// generic `utf8.lexicographicallyPrecedes` walks the views element by element); pinned to it by
/// `FastPathTests`.
@inline(__always)
func utf8Less(_ a: String, _ b: String) -> Bool {
  let fast: Bool?? = a.utf8.withContiguousStorageIfAvailable { pa in
    b.utf8.withContiguousStorageIfAvailable { pb in
      let n = min(pa.count, pb.count)
      let c = n == 0 ? 0 : memcmp(pa.baseAddress!, pb.baseAddress!, n)
      return c != 0 ? c < 0 : pa.count < pb.count
    }
  }
  if let r = fast ?? nil { return r }
  return a.utf8.lexicographicallyPrecedes(b.utf8)
}
