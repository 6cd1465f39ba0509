import Foundation
import RevenueCore
import Staging

extension TransformBenchmark {
  /// Writes `extract/postgres.ndjson` (+ manifest): users first, then transactions; deterministic.
  static func generate(run: RunFolder, records: Int) throws -> (Int, Int64) {
    let b = try StageBuilder(run: run, stage: "extract")
    let w = try b.writer("postgres.ndjson")
    var rng: UInt64 = 0x1234_5678
    func next() -> UInt64 {
      rng &+= 0x9E37_79B9_7F4A_7C15
      var z = rng
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return z ^ (z >> 31)
    }
    func uuid(_ n: Int, _ prefix: String) -> String {
      let h = String(n, radix: 16)
      let pad = String(repeating: "0", count: max(0, 12 - h.count)) + h
      return "\(prefix)-4b7e-4c1d-8e3f-\(pad)"
    }
    let names = [
      "Ana Souza", "Omar Haddad", "Zoë O'Brien", "Nour \"N\" Salem", "Kenji Sato", "Marie-Hélène Dubois",
      "Łukasz Nowak",
    ]
    let userCount = max(1, records / 10)
    let base: Int64 = 1_767_225_600  // 2026-01-01
    for u in 0..<userCount {
      let email = u % 50 == 49 ? "user\(u - 1)@example.com" : "user\(u)@example.com"  // 2 % share an e-mail
      let rec: JSONValue = [
        "id": .string(uuid(u, "5f0c6d1e")), "email": .string(email), "name": .string(names[u % names.count]),
        "country": .string(["US", "EG", "BR", "DE", "JP"][u % 5]),
        "created_at": .string(Timestamp(seconds: base - Int64(u) * 60).iso8601), "last_login_at": nil,
        "login_count": .int(u % 100), "preferred_gateway": "stripe", "acquisition_channel": u % 3 == 0 ? nil : "google",
        "referrer_user_id": nil, "is_test": .bool(u % 1000 == 999), "ai_generations": .int(u % 500),
        "projects_created": .int(u % 20), "last_event_at": nil, "ticket_count": nil, "avg_rating": nil,
      ]
      try w.write(
        ExtractedRecord(
          source: "postgres", kind: .appUser,
          origin: ["query": "users", "row": .int(u + 1)], record: rec
        ).json)
    }
    for t in 0..<records {
      let r = next()
      let user = Int(r % UInt64(userCount))
      let plan = plans[Int((r >> 8) % UInt64(plans.count))]
      let gateway = plan.cur == "EGP" ? "cashier" : (plan.cur == "EUR" ? "paypal" : "stripe")
      let oneTime = (r >> 16) % 7 == 0
      let statusRoll = (r >> 20) % 100
      let status = statusRoll < 90 ? "completed" : statusRoll < 93 ? "refunded" : statusRoll < 97 ? "failed" : "pending"
      let date = base + Int64((r >> 24) % 7_776_000)
      let amount = Int64([1900, 4900, 29000, 29900, 149000, 2500][Int((r >> 8) % 6)])
      let tax = amount / 10
      let hasPeriod = (r >> 30) % 2 == 0
      var rec = JSONObject()
      rec["id"] = .string(uuid(t, "10000000"))
      rec["user_id"] = .string(uuid(user, "5f0c6d1e"))
      rec["subscription_id"] = oneTime ? .null : .string(uuid(t / 3, "30000000"))
      rec["gateway"] = .string(gateway)
      rec["gateway_transaction_id"] = .string(
        (gateway == "stripe" ? "ch_3Rn" : gateway == "paypal" ? "5KD" : "TX-") + String(t, radix: 36))
      rec["product_type"] = .string(oneTime ? "one_time" : "subscription")
      rec["plan_name"] = .string(oneTime ? "Workshop \"Live\" — seat" : plan.id)
      rec["amount_cents"] = .int(amount)
      rec["discount_amount_cents"] = .int(0)
      rec["tax_amount_cents"] = .int(tax)
      rec["currency"] = .string(plan.cur)
      rec["country"] = .string(["US", "EG", "BR", "DE", "JP"][user % 5])
      rec["status"] = .string(status)
      rec["transaction_date"] = .string(Timestamp(seconds: date).iso8601.replacingOccurrences(of: "Z", with: "+00:00"))
      rec["period_start"] = hasPeriod && !oneTime ? .string(Timestamp(seconds: date).iso8601) : .null
      rec["period_end"] =
        hasPeriod && !oneTime ? .string(Timestamp(seconds: date).adding(.month, count: 1).iso8601) : .null
      rec["refunded_amount_cents"] = .int(status == "refunded" ? amount / 2 : 0)
      rec["refunded_at"] = status == "refunded" ? .string(Timestamp(seconds: date + 86400).iso8601) : .null
      rec["utm_source"] = t % 3 == 0 ? .null : "newsletter"
      rec["utm_medium"] = "email"
      rec["utm_campaign"] = .null
      rec["metadata"] = ["livemode": .bool(t % 500 != 0), "invoice_id": .string("app-inv-\(t)"), "attempt": 1]
      rec["created_at"] = .string(Timestamp(seconds: date).iso8601)
      rec["gateway_subscription_id"] = oneTime ? .null : .string("sub_" + String(t / 3, radix: 36))
      rec["user_email"] = .string("user\(user)@example.com")
      try w.write(
        ExtractedRecord(
          source: "postgres", kind: .appTransaction,
          origin: ["query": "transactions", "row": .int(t + 1)], record: .object(rec)
        ).json)
    }
    let total = userCount + records
    let m = try b.publish(inputs: [], accounting: Accounting(input: total, output: total))
    return (total, m.file("postgres.ndjson")?.bytes ?? 0)
  }
}
