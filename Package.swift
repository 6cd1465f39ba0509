// swift-tools-version:6.0
// chartmogul-etl: one custom ChartMogul data source fed from Stripe, PayPal, Cashier and the app's Postgres.
// Dependencies are kept few on purpose (CI builds them on 2 cores): see README "Dependencies".
// Linux only (glibc; built and tested on x86-64): SystemShims calls renameat2, sync_file_range, fallocate and
// malloc_trim, and the sources use Glibc and FoundationNetworking, so no Apple platform is declared
// (docs/architecture.md, "Platform").
import PackageDescription

let package = Package(
  name: "chartmogul-etl",
  products: [
    .executable(name: "chartmogul-etl", targets: ["chartmogul-etl"])
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    .package(url: "https://github.com/swhitty/FlyingFox", from: "0.27.1"),
  ],
  targets: [
    // System and C shims
    .systemLibrary(
      name: "CLibPQ", pkgConfig: "libpq",
      providers: [.apt(["libpq-dev"])]),
    .target(name: "SystemShims"),

    // Core model → staging → stages → CLI
    .target(name: "RevenueCore", dependencies: ["SystemShims", .product(name: "Yams", package: "Yams")]),
    .target(
      name: "Staging",
      dependencies: ["RevenueCore", "SystemShims", .product(name: "Logging", package: "swift-log")]),
    .target(
      name: "Transport",
      dependencies: ["RevenueCore", .product(name: "Logging", package: "swift-log")]),
    // The libpq driver (connection, COPY, binary decoding, TLS) and, above it, the app's database:
    // its extract queries, migrations and sync write-back.
    .target(name: "PostgresClient", dependencies: ["CLibPQ", "RevenueCore"]),
    .target(name: "AppDatabase", dependencies: ["PostgresClient", "RevenueCore"]),
    .target(
      name: "Extract",
      dependencies: [
        "RevenueCore", "Staging", "Transport", "PostgresClient", "AppDatabase",
        .product(name: "Logging", package: "swift-log"),
      ]),
    // Transform = mapping rules (TransformRules: pure, no C shims, no Staging) driven by a runner
    // (Transform: line reading, threads, external sort, memory release). Rules never import the runner.
    .target(name: "TransformRules", dependencies: ["RevenueCore"]),
    .target(
      name: "Transform",
      dependencies: [
        "TransformRules", "SystemShims", "RevenueCore", "Staging", .product(name: "Logging", package: "swift-log"),
      ]),
    .target(
      name: "Load",
      dependencies: [
        "RevenueCore", "Staging", "Transport", "AppDatabase", "SystemShims",
        .product(name: "Logging", package: "swift-log"),
      ]),
    .target(
      name: "Validate",
      dependencies: [
        "RevenueCore", "Staging", "Transport", .product(name: "Logging", package: "swift-log"),
      ]),
    .target(
      name: "Sandbox",
      dependencies: [
        "RevenueCore", .product(name: "FlyingFox", package: "FlyingFox"),
        .product(name: "FlyingSocks", package: "FlyingFox"),
        .product(name: "Logging", package: "swift-log"),
      ]),
    .target(
      name: "Pipeline",
      dependencies: [
        "RevenueCore", "Staging", "Extract", "Transform", "TransformRules", "Load", "Validate",
        .product(name: "Logging", package: "swift-log"),
      ]),
    .executableTarget(
      name: "chartmogul-etl",
      dependencies: [
        // Every module the CLI imports, declared (none reached only through another's dependencies).
        "Pipeline", "RevenueCore", "Staging", "Validate", "Sandbox", "PostgresClient", "AppDatabase", "SystemShims",
        "Load",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        // `serve`: the scheduling service's HTTP endpoints.
        .product(name: "FlyingFox", package: "FlyingFox"), .product(name: "FlyingSocks", package: "FlyingFox"),
        .product(name: "Logging", package: "swift-log"),
      ]),
    .executableTarget(
      name: "etl-bench",
      dependencies: [
        "RevenueCore", "Staging", "Extract", "Transform", "Load", "Sandbox", "PostgresClient", "AppDatabase",
        "Pipeline",
      ],
      path: "Sources/etl-bench"),

    // Tests: one target per module plus end-to-end
    .target(
      name: "ETLTestSupport",
      dependencies: [
        "RevenueCore", "Staging", "PostgresClient", "Sandbox",
        .product(name: "FlyingFox", package: "FlyingFox"),
      ]),
    .testTarget(name: "RevenueCoreTests", dependencies: ["RevenueCore", "ETLTestSupport"]),
    .testTarget(
      name: "StagingTests",
      dependencies: ["Staging", "RevenueCore", "ETLTestSupport", .product(name: "Logging", package: "swift-log")]),
    .testTarget(name: "TransportTests", dependencies: ["Transport", "RevenueCore", "ETLTestSupport"]),
    .testTarget(
      name: "PostgresClientTests", dependencies: ["PostgresClient", "AppDatabase", "RevenueCore", "ETLTestSupport"]),
    .testTarget(name: "ExtractTests", dependencies: ["Extract", "Staging", "RevenueCore", "ETLTestSupport"]),
    .testTarget(name: "TransformRulesTests", dependencies: ["TransformRules", "RevenueCore"]),
    .testTarget(
      name: "TransformTests",
      dependencies: ["Transform", "TransformRules", "Staging", "RevenueCore", "SystemShims", "ETLTestSupport"]),
    .testTarget(
      name: "LoadTests", dependencies: ["Load", "Sandbox", "Staging", "RevenueCore", "AppDatabase", "ETLTestSupport"]),
    .testTarget(
      name: "ValidateTests", dependencies: ["Validate", "Sandbox", "Staging", "RevenueCore", "ETLTestSupport"]),
    .testTarget(name: "SandboxTests", dependencies: ["Sandbox", "RevenueCore", "ETLTestSupport"]),
    .testTarget(
      name: "EndToEndTests",
      dependencies: ["Pipeline", "Sandbox", "Staging", "RevenueCore", "PostgresClient", "ETLTestSupport"]),
    // Issue 11: crash safety, faults, bad input, fuzzing, secrets, overlap (scripts/reliability [--long]).
    .testTarget(
      name: "ReliabilityTests",
      dependencies: [
        "Pipeline", "Sandbox", "Staging", "RevenueCore", "PostgresClient", "AppDatabase", "Extract", "ETLTestSupport",
      ]),
  ]
)
