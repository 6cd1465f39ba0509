import Foundation
import RevenueCore
import Testing

@testable import Transform
@testable import TransformRules

/// The payment pass's customer machinery against the plain rules it stands for: per-user slots vs
/// `CustomerIndex.payer(of:)` + `record(_:)`, `utf8Less` vs UTF-8 byte order, `LastCurrency` vs
/// `Currency.init`.
extension FastPathTests {
  static func users() -> CustomerIndex {
    let c = CustomerIndex(config: TransformConfig(testEmailPatterns: ["qa+*@x.io"]))
    for i in 0..<12 {
      // u0/u6, u1/u7, … share an e-mail (merged under the older); u5 is test data by e-mail.
      c.addUser(
        AppUser(
          id: "u\(i)", email: i == 5 ? "qa+1@x.io" : "p\(i % 6)@x.io", name: nil, country: nil,
          createdAt: Timestamp(seconds: Int64(1_700_000_000 + i)), isTest: i == 11, virtual: false, attributes: nil))
    }
    c.finish()
    return c
  }

  static func snapshot(_ c: CustomerIndex) -> [String] {
    func dated(_ m: [String: (Timestamp, String)]) -> [String] {
      m.map { "\($0.key)=\($0.value.0.seconds)/\($0.value.1)" }.sorted()
    }
    return c.gatewaysByCustomer.map { "\($0.key):\($0.value.sorted())" }.sorted() + ["--"] + dated(c.fillCountry)
      + ["--"] + dated(c.fillName) + ["--"] + dated(c.referrerFromMetadata)
  }

  @Test func slotsEndWhereThePlainCustomerRuleEnds() {
    let plain = Self.users()
    let fast = Self.users()
    let slots = CustomerSlots()
    var rng = SeededRandom(seed: 11)
    let countries = ["de", "FR", " us ", "xx1", "EG", nil]
    let names = ["Ann", "Bob", nil]
    let gateways = ["stripe", "paypal", "cashier"]
    for _ in 0..<5_000 {
      let user = "u\(rng.next() % 12)"
      let payer = plain.payer(
        of: RawPayment(
          role: .appTransaction, gateway: "stripe", id: "x", appUserID: user, currencyCode: "USD",
          date: Timestamp(seconds: 0)))!
      let route = slots.route(user, key: UserKey(user), customers: fast)
      #expect(route.customer == payer.customer && route.isTest == payer.isTest)
      let facts = CustomerFacts(
        customer: payer.customer, gateway: gateways[Int(rng.next() % 3)],
        date: Timestamp(seconds: Int64(1_700_000_000 + rng.next() % 50)), country: countries[Int(rng.next() % 6)],
        name: names[Int(rng.next() % 3)], referrer: rng.next() % 4 == 0 ? "r\(rng.next() % 3)" : nil)
      plain.record(facts)
      // Every fifth payment without a slot: the fallback path records in the index directly.
      slots.record(facts, slot: rng.next() % 5 == 0 ? nil : route.slot, into: fast)
    }
    slots.settle(into: fast)
    #expect(Self.snapshot(fast) == Self.snapshot(plain))
    #expect(Self.snapshot(plain).count > 20)
  }

  @Test func userKeysAreEqualExactlyWhenTheirTextsAre() {
    let ids = [
      "8f14e45f-ceea-467a-9b36-1c2b3d4e5f60", "8F14E45F-CEEA-467A-9B36-1C2B3D4E5F60", "u1", "",
      "8f14e45f-ceea-467a-9b36-1c2b3d4e5f6",
    ]
    for a in ids {
      for b in ids { #expect((UserKey(a) == UserKey(b)) == (a == b), "\(a) vs \(b)") }
    }
  }

  @Test func utf8LessIsUTF8ByteOrder() {
    var rng = SeededRandom(seed: 3)
    let alphabet: [String] = ["a", "b", "Z", "_", ":", "é", "ß", "😀", "\u{0301}", "0"]
    func word() -> String { (0..<Int(rng.next() % 6)).map { _ in alphabet[Int(rng.next() % 10)] }.joined() }
    for _ in 0..<5_000 {
      let a = word()
      let b = word()
      #expect(utf8Less(a, b) == a.utf8.lexicographicallyPrecedes(b.utf8), "\(a) vs \(b)")
    }
  }

  @Test func lastCurrencyAnswersAsCurrencyInit() {
    let memo = LastCurrency()
    for code in ["USD", "usd", "USD", " EUR", "XXX", "EUR", "jpy", "USD", ""] {
      #expect(memo.lookup(code) == Currency(code), "\(code)")
    }
  }
}
