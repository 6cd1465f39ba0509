import ETLTestSupport
import Foundation
import RevenueCore
import Staging
import Testing

/// Page-level malformations: the second page of a list answered with something that is not a page.
extension BadAPIPageTests {
  enum PageFault: String, CaseIterable, Sendable {
    case notJSON, truncated, dataNotArray, html, badUTF8
  }

  struct PageCase: Sendable, CustomStringConvertible {
    var gateway: String
    var fault: PageFault
    var description: String { "\(gateway) \(fault.rawValue)" }
  }

  static let pageCases = gateways.flatMap { g in PageFault.allCases.map { PageCase(gateway: g, fault: $0) } }

  /// The list endpoint broken per gateway, and a well-formed page-2 body to break.
  static func target(_ gateway: String) -> (path: String, query: [String: String], after: Int, page: String) {
    switch gateway {
    case "stripe":
      return (
        "/v1/invoices", [:], 1,
        #"{"object":"list","url":"/v1/invoices","has_more":false,"data":[{"id":"in_PAGEBAD","object":"invoice"}]}"#
      )
    case "paypal":
      return (
        "/v1/reporting/transactions", ["page": "2"], 0,
        #"{"transaction_details":[{"transaction_info":{"transaction_id":"PAGEBAD"}}],"page":2,"total_items":3,"total_pages":2}"#
      )
    default:
      return (
        "/v1/transactions", ["page": "2"], 0,
        #"{"data":[{"transaction_id":"TX-PAGEBAD"}],"page":2,"per_page":5,"next":null}"#
      )
    }
  }

  static func fault(_ c: PageCase) -> InjectedFault {
    let t = target(c.gateway)
    var headers: [(String, String)] = []
    var body = Array(t.page.utf8)
    switch c.fault {
    case .notJSON: body = Array("this is not a page of \(c.gateway) data".utf8)
    case .truncated: body = Array(body.prefix(body.count / 2))
    case .dataNotArray:
      let list = c.gateway == "paypal" ? "transaction_details" : "data"
      body = Array(t.page.replacingOccurrences(of: "\"\(list)\":[", with: "\"\(list)\":\"none\",\"x\":[").utf8)
    case .html:
      headers = [("Content-Type", "text/html; charset=utf-8")]
      body = Array("<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>".utf8)
    case .badUTF8:
      let at = body.firstRange(of: Array("PAGEBAD".utf8))?.upperBound ?? body.count / 2
      body.insert(contentsOf: [0xFF, 0xC3], at: at)
    }
    return InjectedFault(path: t.path, query: t.query, headers: headers, rawBody: body, times: 1, after: t.after)
  }

  @Test(
    "a malformed page stops the source with an error naming gateway, endpoint and page; nothing is published; a rerun succeeds",
    arguments: pageCases)
  func malformedPage(_ c: PageCase) async throws {
    let dir = try TempDirectory(prefix: "rel-badpage")
    let (server, _) = try await Self.server(c.gateway, corpus: false)
    defer { Task { await server.stop() } }
    let pageSize = c.gateway == "stripe" ? 10 : c.gateway == "paypal" ? 2 : 5
    try dir.write("p.yaml", Self.pipeline("page", c.gateway, url: server.baseURL, pageSize: pageSize))
    await server.inject(Self.fault(c))
    let arguments = ["extract", "--pipeline", "p.yaml", "--run-id", "p"]
    let failed = try await RelCLI.run(arguments, environment: [:], directory: dir.path)
    #expect(failed.status == 1, "\(c): \(failed.transcript)")
    let message = failed.stderr.lowercased()
    let t = Self.target(c.gateway)
    #expect(
      message.contains(c.gateway) && message.contains(t.path) && message.contains("page 2"),
      "\(c): the error names gateway, endpoint and page: \(failed.stderr)")
    #expect(!failed.stderr.contains("Fatal error") && !failed.stderr.contains("Stack dump"), "\(failed.stderr)")
    #expect(
      await server.requests().contains { r in r.path == t.path && (t.query.isEmpty || r.value("page") == "2") },
      "the broken page was asked for")
    let run = try RunFolder(area: try StagingArea(stagingRoot: dir.file("staging"), pipeline: "page"), id: "p")
    #expect(try run.manifest("extract") == nil, "\(c): a failed extract publishes nothing")
    let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: run.stagePath("extract"))) ?? []
    #expect(leftovers.filter { $0.hasSuffix(".ndjson") }.isEmpty, "\(c): partial files left: \(leftovers)")
    // The fault was served once: the same run against the now healthy server succeeds.
    let rerun = try await RelCLI.run(arguments, environment: [:], directory: dir.path)
    #expect(rerun.status == 0, "\(c) rerun: \(rerun.transcript)")
    let m = try #require(try run.manifest("extract"))
    #expect(m.accounting.isBalanced && m.accounting.output > pageSize && m.accounting.rejected == 0, "\(m.accounting)")
    ReliabilityFigures.add("bad-api-page-\(c.gateway)", ["bad_records": 1])
  }
}
