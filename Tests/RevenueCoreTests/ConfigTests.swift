import Testing

@testable import RevenueCore

@Suite("Pipeline files")
struct ConfigTests {
  let env = Environment(["STRIPE_API_KEY": "sk_test_123456", "EMPTY": ""])

  @Test("expands ${VAR} and ${VAR:-default}")
  func expansion() throws {
    let p = try PipelineFile(
      text: """
        name: nightly
        sources:
          stripe: { api_key: "${STRIPE_API_KEY}", api_url: "${STRIPE_API_URL:-https://api.stripe.com}" }
        """, path: "p.yaml", environment: env)
    let stripe = try #require(
      try p.section("sources", allowed: ["stripe"])?.mapping("stripe", allowed: ["api_key", "api_url"]))
    #expect(try stripe.string("api_url") == "https://api.stripe.com")
    #expect(try stripe.requiredSecret("api_key").value == "sk_test_123456")
    #expect(try stripe.requiredSecret("api_key").description == "[redacted]")
  }

  @Test("a missing variable names itself, the key, the file and the line")
  func missingVariable() throws {
    let p = try PipelineFile(
      text: "name: x\ndestination:\n  chartmogul:\n    api_key: ${CHARTMOGUL_API_KEY}\n", path: "pipelines/x.yaml",
      environment: env)
    let cm = try #require(
      try p.section("destination", allowed: ["chartmogul"])?.mapping("chartmogul", allowed: ["api_key"]))
    let error = #expect(throws: ConfigError.self) { try cm.string("api_key") }
    let text = "\(error!)"
    #expect(text.contains("pipelines/x.yaml:4"))
    #expect(text.contains("destination.chartmogul.api_key"))
    #expect(text.contains("CHARTMOGUL_API_KEY"))
  }

  @Test("an unknown key is an error with a suggestion, never ignored")
  func unknownKey() throws {
    let p = try PipelineFile(text: "name: x\nsources:\n  stripe:\n    api_kye: abc\n", path: "p.yaml", environment: env)
    let sources = try #require(try p.section("sources", allowed: ["stripe"]))
    let error = #expect(throws: ConfigError.self) { try sources.mapping("stripe", allowed: ["api_key", "since"]) }
    #expect("\(error!)".contains("p.yaml:4"))
    #expect("\(error!)".contains("did you mean 'api_key'"))
  }

  @Test("malformed YAML is reported with file and line")
  func malformedYAML() {
    let error = #expect(throws: ConfigError.self) {
      try PipelineFile(text: "name: x\nsources:\n  stripe: [unclosed\n  other: 1\n", path: "bad.yaml", environment: env)
    }
    #expect("\(error!)".hasPrefix("bad.yaml:"))
  }

  @Test("unsafe pipeline names cannot escape the staging root", arguments: ["../etc", ".hidden", "a/b", ""])
  func unsafeName(_ name: String) {
    #expect(throws: ConfigError.self) {
      try PipelineFile(text: "name: \"\(name)\"\n", path: "p.yaml", environment: env)
    }
  }

  @Test("typed getters check types and ranges")
  func typed() throws {
    let p = try PipelineFile(
      text: "name: x\nvalidate:\n  threshold: 2%\n  months: twelve\n  enabled: maybe\n", path: "p.yaml",
      environment: env)
    let v = try #require(try p.section("validate", allowed: ["threshold", "months", "enabled"]))
    #expect(try v.double("threshold", default: 0) == 0.02)
    #expect(throws: ConfigError.self) { try v.int("months", default: 1) }
    #expect(throws: ConfigError.self) { try v.bool("enabled", default: true) }
  }

  @Test("the redactor removes registered secrets and their Basic-auth encoding")
  func redaction() {
    let s = Secret("sk_live_abcdef123456")
    let basic = "c2tfbGl2ZV9hYmNkZWYxMjM0NTY6"  // base64("sk_live_abcdef123456:")
    let text = Redactor.shared.redact("key=\(s.value) auth=Basic \(basic)")
    #expect(!text.contains(s.value))
    #expect(!text.contains(basic))
  }
}
