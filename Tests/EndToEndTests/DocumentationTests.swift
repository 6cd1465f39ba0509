import ETLTestSupport
import Foundation
import Logging
import Pipeline
import RevenueCore
import Testing

/// The YAML a reader copies must work: every ```yaml block of the repository's Markdown and every
/// file under `pipelines/` parses, and those that are pipelines (a top-level `name:`) pass the same
/// checks as `chartmogul-etl` applies when it opens a pipeline (unknown keys, types, ranges,
/// `${VAR}` expansion), destination included.
@Suite("Documentation: YAML examples parse and pass the pipeline checks")
struct DocumentationTests {
  /// Values for every variable the examples reference, shaped like real ones.
  static let environment = Environment([
    "DATABASE_URL": "postgres://etl@db.internal/app",
    "STRIPE_API_KEY": "rk_test_documentation",
    "PAYPAL_CLIENT_ID": "paypal-client-documentation",
    "PAYPAL_CLIENT_SECRET": "paypal-secret-documentation",
    "CASHIER_API_KEY": "cashier-key-documentation",
    "CASHIER_API_URL": "https://cashier.example.test",
    "CHARTMOGUL_API_KEY": "chartmogul-key-documentation",
    "CHARTMOGUL_API_URL": "https://api.chartmogul.com",
    "CHARTMOGUL_DATA_SOURCE_ID": "ds_00000000-0000-4000-8000-000000000001",
  ])

  /// One fenced YAML block: where it is, for messages, and its text.
  struct Block: CustomStringConvertible {
    var file: String
    var line: Int
    var text: String
    var description: String { "\(file):\(line)" }
    /// A pipeline file has a top-level `name:`; other blocks are fragments.
    var isPipeline: Bool { text.split(separator: "\n").contains { $0.hasPrefix("name:") } }
  }

  /// The Markdown files a newcomer reads: README, CONTRIBUTING and everything under docs/.
  static func markdownFiles() throws -> [String] {
    let root = RepositoryPaths.root
    var files = ["README.md", "CONTRIBUTING.md"].filter { FileManager.default.fileExists(atPath: root + "/" + $0) }
    let docs = (try? FileManager.default.contentsOfDirectory(atPath: root + "/docs")) ?? []
    files += docs.filter { $0.hasSuffix(".md") }.sorted().map { "docs/" + $0 }
    return files
  }

  /// The ```yaml blocks of a Markdown text, with the line of their opening fence.
  static func yamlBlocks(_ text: String, file: String) -> [Block] {
    var blocks: [Block] = []
    var current: Block?
    for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
      let line = raw.trimmingCharacters(in: .whitespaces)
      if var block = current {
        if line.hasPrefix("```") {
          blocks.append(block)
          current = nil
        } else {
          block.text += raw + "\n"
          current = block
        }
      } else if line == "```yaml" || line == "```yml" {
        current = Block(file: file, line: i + 1, text: "")
      }
    }
    return blocks
  }

  static func markdownBlocks() throws -> [Block] {
    try markdownFiles().flatMap { name in
      yamlBlocks(try String(contentsOfFile: RepositoryPaths.root + "/" + name, encoding: .utf8), file: name)
    }
  }

  /// Opens a pipeline's text the way the CLI does and checks its destination as `load` would.
  static func check(pipelineAt path: String) async throws {
    let session = try await PipelineSession.open(
      path: path, environment: environment, logger: Logger(label: "documentation-tests"), needsDestination: false)
    try session.checkDestination()
    await session.close()
  }

  @Test("the README has a pipeline example")
  func readmeHasAnExample() throws {
    let readme = try String(contentsOfFile: RepositoryPaths.root + "/README.md", encoding: .utf8)
    #expect(Self.yamlBlocks(readme, file: "README.md").contains { $0.isPipeline })
  }

  @Test("the block finder sees a block, its line and its text, and nothing outside fences")
  func blockFinder() {
    let text = "# T\n```yaml\na: 1\nb: { c: 2 }\n```\nname: outside\n```sh\nname: x\n```\n"
    let blocks = Self.yamlBlocks(text, file: "T.md")
    #expect(blocks.count == 1)
    #expect(blocks.first?.line == 2 && blocks.first?.text == "a: 1\nb: { c: 2 }\n")
    #expect(blocks.first?.isPipeline == false)
  }

  @Test("a variable inside a flow mapping must be quoted: the checks refuse the unquoted form")
  func unquotedVariableInFlowMappingIsRefused() throws {
    #expect(throws: ConfigError.self) {
      try ConfigNode.parse(
        yaml: "stripe: { api_key: ${STRIPE_API_KEY} }\n", file: "x.yaml", environment: Self.environment)
    }
    let quoted = try ConfigNode.parse(
      yaml: "stripe: { api_key: \"${STRIPE_API_KEY}\" }\n", file: "x.yaml", environment: Self.environment)
    #expect(
      try quoted.mapping(allowed: nil).mapping("stripe", allowed: nil)?.string("api_key") == "rk_test_documentation")
  }

  @Test("every yaml block of the Markdown files parses; pipeline examples pass every check")
  func markdownYAML() async throws {
    let blocks = try Self.markdownBlocks()
    let dir = try TempDirectory(prefix: "doc-yaml")
    for block in blocks {
      do {
        if block.isPipeline {
          let path = dir.file("\(block.file.replacingOccurrences(of: "/", with: "_"))-\(block.line).yaml")
          try block.text.write(toFile: path, atomically: true, encoding: .utf8)
          try await Self.check(pipelineAt: path)
        } else {
          _ = try ConfigNode.parse(yaml: block.text, file: block.description, environment: Self.environment)
        }
      } catch {
        Issue.record("\(block) (```yaml block): \(error)")
      }
    }
  }

  @Test("every file under pipelines/ parses and passes every check")
  func committedPipelines() async throws {
    let folder = RepositoryPaths.root + "/pipelines"
    let names = try FileManager.default.contentsOfDirectory(atPath: folder)
      .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted()
    #expect(!names.isEmpty)
    for name in names {
      let path = folder + "/" + name
      do {
        try await Self.check(pipelineAt: path)
      } catch {
        Issue.record("pipelines/\(name): \(error)")
      }
    }
  }
}
