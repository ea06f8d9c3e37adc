// swift-tools-version:6.0
// embryo: a command-line training-dynamics lab for ALBERT-style language models.
// No package dependencies: the Swift toolchain plus OpenBLAS and zlib through the CBLAS and CZlib system-library
// targets.
import PackageDescription

// Kernels are written with SIMD8 vectors; on x86-64 hosts they are compiled for the Haswell feature set (AVX2, FMA,
// every x86 CPU since 2013-2015), so each vector is one register instead of two SSE halves. No
// floating-point contraction or reassociation is enabled: results are the same bit for bit.
#if arch(x86_64)
    let cpuFlags: [SwiftSetting] = [.unsafeFlags(["-target-cpu", "haswell"])]
#else
    let cpuFlags: [SwiftSetting] = []
#endif

// The numerics layer passes raw pointers into a fixed-chunk thread helper; Swift 5 language mode keeps
// that free of Sendable wrappers while the parallel regions stay explicit and deterministic.
let package = Package(
    name: "embryo",
    products: [
        .executable(name: "embryo", targets: ["embryo"]),
        .library(name: "EmbryoCore", targets: ["EmbryoCore"]),
        .library(name: "EmbryoText", targets: ["EmbryoText"]),
        .library(name: "EmbryoRun", targets: ["EmbryoRun"]),
        .library(name: "EmbryoLab", targets: ["EmbryoLab"]),
    ],
    targets: [
        .systemLibrary(
            name: "CBLAS",
            path: "Sources/CBLAS",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .target(
            name: "EmbryoCore",
            dependencies: ["CBLAS"],
            swiftSettings: cpuFlags
        ),
        .systemLibrary(
            name: "CZlib",
            path: "Sources/CZlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        .target(
            name: "EmbryoText",
            dependencies: ["EmbryoCore", "CZlib"]
        ),
        // the vocabulary every part of the lab shares: runs, snapshots and suites, the pretraining recipe,
        // metric rows and tables, probe sentences, the report page's inputs and charts, the file hasher
        .target(
            name: "EmbryoRun",
            dependencies: ["EmbryoCore", "EmbryoText"]
        ),
        .target(
            name: "EmbryoLab",
            dependencies: ["EmbryoCore", "EmbryoText", "EmbryoRun"]
        ),
        .executableTarget(
            name: "embryo",
            dependencies: ["EmbryoCore", "EmbryoText", "EmbryoRun", "EmbryoLab"]
        ),
        // what the test targets share: scratch folders per test, a micro model configuration
        .target(
            name: "EmbryoTestSupport",
            dependencies: ["EmbryoCore"],
            path: "Tests/EmbryoTestSupport"
        ),
        .testTarget(
            name: "EmbryoCoreTests",
            dependencies: ["EmbryoCore", "EmbryoTestSupport"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "EmbryoTextTests",
            dependencies: ["EmbryoText", "EmbryoTestSupport"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "EmbryoLabTests",
            dependencies: ["EmbryoLab", "EmbryoTestSupport"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "embryoTests",
            dependencies: ["embryo", "EmbryoTestSupport"],
            // every command's --help, compared with the binary's by HelpSnapshotTests (read from the source tree)
            exclude: ["Help"]
        ),
    ],
    swiftLanguageModes: [.v5]
)
