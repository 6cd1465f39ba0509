// etl-bench: benchmark driver. Each benchmark lives in its own file; `benchmarks/run` calls them all.
// Usage: etl-bench <benchmark> [options]
import Foundation

let arguments = Array(CommandLine.arguments.dropFirst())
guard let which = arguments.first else {
  FileHandle.standardError.write(Data("usage: etl-bench <benchmark> [options]\n".utf8))
  exit(2)
}
let rest = Array(arguments.dropFirst())
switch which {
// Benchmarks register here, one line each:
case "transform": try await TransformBenchmark.run(rest)
case "postgres-extract": PostgresExtractBenchmark.main(rest)
case "load", "load-child": await LoadBenchmark.main(which, rest)
default:
  FileHandle.standardError.write(Data("etl-bench: unknown benchmark '\(which)'\n".utf8))
  exit(2)
}
