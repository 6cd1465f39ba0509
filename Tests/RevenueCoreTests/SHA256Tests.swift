import Foundation
import RevenueCore
import Testing

/// The C paths (SHA-NI when the CPU has it, portable C) against the Swift reference compression.
@Suite("SHA-256 implementations")
struct SHA256Tests {
  /// Deterministic bytes, so a failing length can be reproduced.
  typealias Bytes = SplitMix64

  static let vectors: [(String, String)] = [
    ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
    (
      "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
    ),
    (
      "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
      "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"
    ),
  ]

  @Test("every implementation gives the FIPS 180-4 digests", arguments: SHA256.Implementation.allCases)
  func fipsVectors(_ impl: SHA256.Implementation) {
    for (message, digest) in Self.vectors {
      #expect(SHA256.hex(Array(message.utf8), implementation: impl) == digest, "\(impl) \(message)")
    }
    let million = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
    #expect(
      SHA256.hex(million, implementation: impl) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
  }

  @Test("native and portable C match the Swift reference on random lengths 0…10,000")
  func randomLengths() {
    var rng = Bytes(seed: 0x5EED_0001)
    var lengths = Array(0...200) + [255, 256, 257, 511, 512, 513, 1023, 1024, 4095, 4096, 9999, 10_000]
    for _ in 0..<300 { lengths.append(Int(rng.next() % 10_001)) }
    for n in lengths {
      let data = rng.bytes(n)
      let reference = SHA256.hex(data, implementation: .swift)
      #expect(SHA256.hex(data, implementation: .native) == reference, "native, length \(n)")
      #expect(SHA256.hex(data, implementation: .portableC) == reference, "portable C, length \(n)")
    }
  }

  @Test("streaming in uneven pieces gives the one-shot digest")
  func streamingSplits() {
    var rng = Bytes(seed: 0x5EED_0002)
    for _ in 0..<60 {
      let data = rng.bytes(Int(rng.next() % 10_001))
      let reference = SHA256.hex(data, implementation: .swift)
      for impl in SHA256.Implementation.allCases {
        var h = SHA256(implementation: impl)
        var at = 0
        while at < data.count {
          let take = min(data.count - at, Int(rng.next() % 200))
          data[at..<(at + take)].withUnsafeBytes { h.update($0) }
          at += take
        }
        #expect(h.finalizeHex() == reference, "\(impl), length \(data.count)")
      }
    }
  }

  @Test("the hardware path is used when the CPU reports the SHA extensions")
  func hardwareDetection() throws {
    #if arch(x86_64)
      let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
      let flags = cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") } ?? ""
      let hasSHA = flags.split(separator: " ").contains("sha_ni")
      #expect(SHA256.hardwareAccelerated == hasSHA)
    #else
      #expect(!SHA256.hardwareAccelerated)
    #endif
  }
}
