import SystemShims

/// Streaming SHA-256 (FIPS 180-4), used for manifest checksums and the pipeline-file hash.
/// Owned here so the package needs no crypto dependency (a heavy build on 2 cores).
///
/// Whole 64-byte blocks are compressed in C (SystemShims): with the x86 SHA extensions when CPUID reports
/// them (~1.4 GB/s on the project's EPYC), portable C otherwise. Every staged file is hashed as it is
/// written, so this runs over every byte every stage writes. The Swift compression below is kept as an
/// independent reference the tests compare the C paths against.
public struct SHA256: Sendable {
  /// Which compression function a hasher uses; all give identical digests.
  public enum Implementation: Sendable, CaseIterable {
    /// SHA-NI when the CPU has it, else portable C (the default).
    case native
    /// Portable C, even when SHA-NI is available.
    case portableC
    /// The pure-Swift reference (slow; for tests).
    case swift
  }

  /// True when `.native` uses the CPU's SHA instructions.
  public static var hardwareAccelerated: Bool { cshims_sha256_hardware() != 0 }

  private var h0: UInt32 = 0x6a09_e667, h1: UInt32 = 0xbb67_ae85, h2: UInt32 = 0x3c6e_f372, h3: UInt32 = 0xa54f_f53a
  private var h4: UInt32 = 0x510e_527f, h5: UInt32 = 0x9b05_688c, h6: UInt32 = 0x1f83_d9ab, h7: UInt32 = 0x5be0_cd19
  private var buffer: [UInt8] = []
  private var length: UInt64 = 0
  private let implementation: Implementation

  private static let k: [UInt32] = [
    0x428a_2f98, 0x7137_4491, 0xb5c0_fbcf, 0xe9b5_dba5, 0x3956_c25b, 0x59f1_11f1, 0x923f_82a4, 0xab1c_5ed5,
    0xd807_aa98, 0x1283_5b01, 0x2431_85be, 0x550c_7dc3, 0x72be_5d74, 0x80de_b1fe, 0x9bdc_06a7, 0xc19b_f174,
    0xe49b_69c1, 0xefbe_4786, 0x0fc1_9dc6, 0x240c_a1cc, 0x2de9_2c6f, 0x4a74_84aa, 0x5cb0_a9dc, 0x76f9_88da,
    0x983e_5152, 0xa831_c66d, 0xb003_27c8, 0xbf59_7fc7, 0xc6e0_0bf3, 0xd5a7_9147, 0x06ca_6351, 0x1429_2967,
    0x27b7_0a85, 0x2e1b_2138, 0x4d2c_6dfc, 0x5338_0d13, 0x650a_7354, 0x766a_0abb, 0x81c2_c92e, 0x9272_2c85,
    0xa2bf_e8a1, 0xa81a_664b, 0xc24b_8b70, 0xc76c_51a3, 0xd192_e819, 0xd699_0624, 0xf40e_3585, 0x106a_a070,
    0x19a4_c116, 0x1e37_6c08, 0x2748_774c, 0x34b0_bcb5, 0x391c_0cb3, 0x4ed8_aa4a, 0x5b9c_ca4f, 0x682e_6ff3,
    0x748f_82ee, 0x78a5_636f, 0x84c8_7814, 0x8cc7_0208, 0x90be_fffa, 0xa450_6ceb, 0xbef9_a3f7, 0xc671_78f2,
  ]

  public init(implementation: Implementation = .native) {
    self.implementation = implementation
    buffer.reserveCapacity(64)
  }

  public mutating func update(_ bytes: UnsafeRawBufferPointer) {
    length &+= UInt64(bytes.count)
    var idx = 0
    if !buffer.isEmpty {
      let take = min(64 - buffer.count, bytes.count)
      buffer.append(contentsOf: bytes[0..<take])
      idx = take
      if buffer.count == 64 {
        buffer.withUnsafeBytes { compress($0.baseAddress!, blocks: 1) }
        buffer.removeAll(keepingCapacity: true)
      }
    }
    let whole = (bytes.count - idx) / 64
    if whole > 0 {
      compress(bytes.baseAddress! + idx, blocks: whole)
      idx += whole * 64
    }
    if idx < bytes.count { buffer.append(contentsOf: bytes[idx...]) }
  }

  public mutating func update<C: Collection>(_ bytes: C) where C.Element == UInt8 {
    let a = Array(bytes)
    a.withUnsafeBytes { update($0) }
  }

  /// Lower-case hex digest.
  public mutating func finalizeHex() -> String {
    let bitLength = length &* 8
    var tail: [UInt8] = [0x80]
    while (buffer.count + tail.count) % 64 != 56 { tail.append(0) }
    for s in stride(from: 56, through: 0, by: -8) { tail.append(UInt8(truncatingIfNeeded: bitLength >> UInt64(s))) }
    let saved = length
    update(tail)
    length = saved
    var out = ""
    let hexd = Array("0123456789abcdef")
    for word in [h0, h1, h2, h3, h4, h5, h6, h7] {
      for s in stride(from: 28, through: 0, by: -4) { out.append(hexd[Int((word >> UInt32(s)) & 0xF)]) }
    }
    return out
  }

  public static func hex<C: Collection>(_ bytes: C, implementation: Implementation = .native) -> String
  where C.Element == UInt8 {
    var s = SHA256(implementation: implementation)
    s.update(bytes)
    return s.finalizeHex()
  }

  /// `blocks` consecutive 64-byte blocks at `p`, in one C call for the native paths.
  private mutating func compress(_ p: UnsafeRawPointer, blocks: Int) {
    var state = (h0, h1, h2, h3, h4, h5, h6, h7)
    switch implementation {
    case .native, .portableC:
      let native = implementation == .native
      withUnsafeMutableBytes(of: &state) { raw in
        let s = raw.baseAddress!.assumingMemoryBound(to: UInt32.self)
        let bytes = p.assumingMemoryBound(to: UInt8.self)
        if native { cshims_sha256_blocks(s, bytes, blocks) } else { cshims_sha256_blocks_portable(s, bytes, blocks) }
      }
    case .swift:
      for i in 0..<blocks { SHA256.block(p + i &* 64, &state) }
    }
    (h0, h1, h2, h3, h4, h5, h6, h7) = state
  }

  /// Written once at first use, read-only afterwards (hence safe to share).
  nonisolated(unsafe) private static let roundConstants: UnsafeMutablePointer<UInt32> = {
    let p = UnsafeMutablePointer<UInt32>.allocate(capacity: 64)
    for (i, v) in k.enumerated() { p[i] = v }
    return p
  }()

  /// The Swift reference compression of one block.
  @inline(__always)
  private static func block(
    _ p: UnsafeRawPointer, _ s: inout (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32)
  ) {
    let k = roundConstants
    withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { buf in
      let w = buf.baseAddress!
      for t in 0..<16 { w[t] = UInt32(bigEndian: p.loadUnaligned(fromByteOffset: t &* 4, as: UInt32.self)) }
      for t in 16..<64 {
        let x = w[t &- 15]
        let y = w[t &- 2]
        let s0 = ((x >> 7) | (x << 25)) ^ ((x >> 18) | (x << 14)) ^ (x >> 3)
        let s1 = ((y >> 17) | (y << 15)) ^ ((y >> 19) | (y << 13)) ^ (y >> 10)
        w[t] = w[t &- 16] &+ s0 &+ w[t &- 7] &+ s1
      }
      var (a, b, c, d, e, f, g, h) = s
      for t in 0..<64 {
        let sigma1 = ((e >> 6) | (e << 26)) ^ ((e >> 11) | (e << 21)) ^ ((e >> 25) | (e << 7))
        let ch = (e & f) ^ (~e & g)
        let t1 = h &+ sigma1 &+ ch &+ k[t] &+ w[t]
        let sigma0 = ((a >> 2) | (a << 30)) ^ ((a >> 13) | (a << 19)) ^ ((a >> 22) | (a << 10))
        let maj = (a & b) ^ (a & c) ^ (b & c)
        h = g
        g = f
        f = e
        e = d &+ t1
        d = c
        c = b
        b = a
        a = t1 &+ sigma0 &+ maj
      }
      s = (s.0 &+ a, s.1 &+ b, s.2 &+ c, s.3 &+ d, s.4 &+ e, s.5 &+ f, s.6 &+ g, s.7 &+ h)
    }
  }
}
