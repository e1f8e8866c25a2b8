// swift-tools-version: 6.0
// IndexTTS-Swift: a native Swift port of IndexTTS2 with its own compute core.
//
// Layering (dependencies point one way only):
//   IndexTTSTensor (compute core) → IndexTTSWeights (checkpoint readers) → IndexTTSNN (layers, module loading)
//   → {IndexTTSAudio, IndexTTSText} → IndexTTSModels → IndexTTS (engine) → IndexTTSJobs (persistent queue)
//   → IndexTTSServer (HTTP API) → indextts (CLI); IndexTTSFuzzing (fuzz harnesses, no product) sits beside the CLI.
import PackageDescription

/// Numeric targets need `-Ounchecked` and an AVX2/FMA target CPU in release builds, otherwise SIMD code
/// degrades to libm calls and 4-wide SSE (see shared/reference/swift-numerics-notes.md). Debug builds compile them
/// with `-O`: overflow, bounds and precondition checks stay on (`assert` would not: these targets use
/// `precondition`; at `-O` a failed check stops the process without its message, a backtrace shows where), baseline
/// x86-64 code generation, no whole-module optimisation — the checked build the debug test run exists for, without
/// running every model fixture through unoptimised loops (10–40× slower at `-Onone`). To step through them in a
/// debugger, drop that line locally.
let numericSettings: [SwiftSetting] = [
    .unsafeFlags(["-Ounchecked", "-target-cpu", "haswell"], .when(configuration: .release)),
    .unsafeFlags(["-O"], .when(configuration: .debug)),
    .enableUpcomingFeature("ExistentialAny"),
]
let commonSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "IndexTTSSwift",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "indextts", targets: ["indextts"]),
        .library(name: "IndexTTSTensor", targets: ["IndexTTSTensor"]),
        .library(name: "IndexTTSWeights", targets: ["IndexTTSWeights"]),
        .library(name: "IndexTTSNN", targets: ["IndexTTSNN"]),
        .library(name: "IndexTTSAudio", targets: ["IndexTTSAudio"]),
        .library(name: "IndexTTSText", targets: ["IndexTTSText"]),
        .library(name: "IndexTTSModels", targets: ["IndexTTSModels"]),
        .library(name: "IndexTTS", targets: ["IndexTTS"]),
        .library(name: "IndexTTSJobs", targets: ["IndexTTSJobs"]),
        .library(name: "IndexTTSServer", targets: ["IndexTTSServer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.28.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.20.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.30.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.0.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.0.0"..<"5.0.0"),
    ],
    targets: [
        .systemLibrary(
            name: "COpenBLAS", path: "Sources/COpenBLAS",
            providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(
            name: "CSndFile", path: "Sources/CSndFile", pkgConfig: "sndfile",
            providers: [.apt(["libsndfile1-dev"])]),
        .systemLibrary(
            name: "CAVCodec", path: "Sources/CAVCodec", pkgConfig: "libavcodec",
            providers: [.apt(["libavcodec-dev", "libavutil-dev"])]),
        .systemLibrary(
            name: "CSoxr", path: "Sources/CSoxr", pkgConfig: "soxr",
            providers: [.apt(["libsoxr-dev"])]),
        // CPUID queries in plain C, compiled for baseline x86-64 (no -target-cpu), so they run on any CPU.
        .target(name: "CCPUInfo", path: "Sources/CCPUInfo"),
        // The executable's start-up check: a constructor that explains, instead of crashing with SIGILL, when the
        // CPU lacks what the release build is compiled for.
        .target(
            name: "CIndexTTSStartup", dependencies: ["CCPUInfo"], path: "Sources/CIndexTTSStartup",
            cSettings: [.define("INDEXTTS_REQUIRE_HASWELL", .when(configuration: .release))]),
        // bfloat16 matrix products through oneDNN (Debian's libdnnl-dev; its OpenMP runtime is libgomp), plain C
        // compiled for baseline x86-64: oneDNN selects its kernels at run time.
        .target(
            name: "CIndexTTSDNNL", path: "Sources/CIndexTTSDNNL",
            linkerSettings: [.linkedLibrary("dnnl"), .linkedLibrary("gomp")]),
        // Our own hot loops for instruction sets above the Haswell baseline (AVX-512), one function per set via
        // clang's `target` attribute, chosen at run time (`KernelSet`); compiled without -march flags.
        .target(name: "CIndexTTSKernels", path: "Sources/CIndexTTSKernels", cSettings: [.unsafeFlags(["-O3"])]),
        // The worker pool behind `Parallel.forEachChunk` (pthreads + futex; workers poll briefly between jobs).
        .target(name: "CIndexTTSPool", path: "Sources/CIndexTTSPool"),
        .target(
            name: "IndexTTSTensor", dependencies: ["COpenBLAS", "CCPUInfo", "CIndexTTSDNNL", "CIndexTTSKernels", "CIndexTTSPool"],
            swiftSettings: numericSettings),
        .target(
            name: "IndexTTSWeights",
            dependencies: ["IndexTTSTensor", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            exclude: ["Proto/onnx_model.proto"],
            swiftSettings: numericSettings),
        .target(
            name: "IndexTTSNN", dependencies: ["IndexTTSTensor", "IndexTTSWeights"],
            swiftSettings: numericSettings),
        .target(
            name: "IndexTTSAudio", dependencies: ["IndexTTSTensor", "CSndFile", "CSoxr", "CAVCodec"],
            swiftSettings: numericSettings),
        .target(
            name: "IndexTTSText",
            dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf"), .product(name: "Yams", package: "Yams")],
            exclude: ["Proto/sentencepiece_model.proto"],
            swiftSettings: commonSettings),
        .target(
            name: "IndexTTSModels",
            dependencies: ["IndexTTSTensor", "IndexTTSWeights", "IndexTTSNN", "IndexTTSText", .product(name: "Yams", package: "Yams")],
            swiftSettings: numericSettings),
        .target(
            name: "IndexTTS",
            dependencies: ["IndexTTSTensor", "IndexTTSWeights", "IndexTTSNN", "IndexTTSAudio", "IndexTTSText",
                           "IndexTTSModels", .product(name: "Yams", package: "Yams"),
                           .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: commonSettings),
        .target(
            name: "IndexTTSJobs",
            dependencies: ["IndexTTS", "IndexTTSAudio", "IndexTTSText",
                           .product(name: "GRDB", package: "GRDB.swift"),
                           .product(name: "PostgresNIO", package: "postgres-nio"),
                           .product(name: "Logging", package: "swift-log")],
            swiftSettings: commonSettings),
        .target(
            name: "IndexTTSServer",
            dependencies: ["IndexTTS", "IndexTTSJobs", "IndexTTSAudio", "IndexTTSText", "IndexTTSTensor",
                           .product(name: "Hummingbird", package: "hummingbird"),
                           .product(name: "Prometheus", package: "swift-prometheus"),
                           .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                           .product(name: "HTTPTypes", package: "swift-http-types"),
                           .product(name: "Logging", package: "swift-log")],
            // The WebUI and the OpenAPI document are compiled into the binary: one file to deploy, nothing fetched from a CDN.
            resources: [.embedInCode("WebUI/index.html"), .embedInCode("WebUI/app.js"), .embedInCode("WebUI/app.css"),
                        .embedInCode("OpenAPI/openapi.json")],
            swiftSettings: commonSettings),
        .executableTarget(
            name: "indextts",
            dependencies: [
                "CIndexTTSStartup", "IndexTTS", "IndexTTSJobs", "IndexTTSServer", .product(name: "Logging", package: "swift-log"), "IndexTTSTensor", "IndexTTSWeights", "IndexTTSNN", "IndexTTSAudio", "IndexTTSText",
                "IndexTTSModels",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: numericSettings),
        // Fuzz harnesses (docs/RELIABILITY.md): one entry point per input surface, taking bytes. Not part of any
        // product. `indextts-fuzz` replays saved inputs in a normal build; tools/fuzz/run.sh builds it with
        // `-sanitize=fuzzer,address -D INDEXTTS_LIBFUZZER` into .build-fuzz, where libFuzzer drives the harnesses.
        .target(
            name: "IndexTTSFuzzing",
            dependencies: ["IndexTTS", "IndexTTSServer", "IndexTTSJobs", "IndexTTSAudio", "IndexTTSText", "IndexTTSWeights",
                           "IndexTTSModels", .product(name: "Yams", package: "Yams")],
            swiftSettings: commonSettings),
        .executableTarget(
            name: "indextts-fuzz", dependencies: ["IndexTTSFuzzing"], path: "Sources/indextts-fuzz",
            swiftSettings: commonSettings),
        .target(
            name: "IndexTTSTestSupport", dependencies: ["IndexTTSTensor", "IndexTTSWeights", "IndexTTS"],
            path: "Tests/Support", swiftSettings: commonSettings),
        .testTarget(
            name: "IndexTTSTensorTests", dependencies: ["IndexTTSTensor", "IndexTTSTestSupport"],
            swiftSettings: commonSettings),
        .testTarget(
            name: "IndexTTSWeightsTests", dependencies: ["IndexTTSWeights", "IndexTTSTestSupport"],
            swiftSettings: commonSettings),
        .testTarget(
            name: "IndexTTSNNTests", dependencies: ["IndexTTSNN", "IndexTTSTestSupport"],
            swiftSettings: commonSettings),
        .testTarget(
            name: "IndexTTSAudioTests", dependencies: ["IndexTTSAudio", "IndexTTSTestSupport"],
            swiftSettings: commonSettings),
        .testTarget(
            name: "IndexTTSTextTests", dependencies: ["IndexTTSText", "IndexTTSTestSupport"],
            swiftSettings: commonSettings),
        .testTarget(
            name: "IndexTTSModelsTests", dependencies: ["IndexTTSModels", "IndexTTSText", "IndexTTSTestSupport"],
            swiftSettings: commonSettings),
        .testTarget(
            name: "IndexTTSTests",
            dependencies: ["IndexTTS", "IndexTTSAudio", "IndexTTSModels", "IndexTTSText", "IndexTTSTestSupport"],
            swiftSettings: commonSettings),
        .testTarget(
            name: "IndexTTSJobsTests", dependencies: ["IndexTTSJobs", "IndexTTS", "IndexTTSTestSupport"],
            swiftSettings: commonSettings),
        .testTarget(
            name: "IndexTTSServerTests",
            dependencies: ["IndexTTSServer", "IndexTTSJobs", "IndexTTS", "IndexTTSAudio", "IndexTTSTensor", "IndexTTSTestSupport",
                           .product(name: "HummingbirdTesting", package: "hummingbird")],
            swiftSettings: commonSettings),
        .testTarget(
            name: "IndexTTSFuzzingTests",
            dependencies: ["IndexTTSFuzzing", "IndexTTSServer", "IndexTTSWeights", "IndexTTSAudio", "IndexTTSModels", "IndexTTSText"],
            swiftSettings: commonSettings),
        .testTarget(
            name: "IndexTTSCLITests", dependencies: ["indextts", "IndexTTSAudio", "IndexTTSTestSupport"],
            swiftSettings: commonSettings),
    ]
)
