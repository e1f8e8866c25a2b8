import CCPUInfo
import COpenBLAS

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Instruction-set extensions of the CPU this process runs on, as CPUID reports them and the operating system enables
/// them (AVX-class features only count when the OS saves their registers).
public struct InstructionSets: OptionSet, Sendable, Hashable {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    public static let sse3 = InstructionSets(rawValue: UInt64(INDEXTTS_CPU_SSE3))
    public static let ssse3 = InstructionSets(rawValue: UInt64(INDEXTTS_CPU_SSSE3))
    public static let sse41 = InstructionSets(rawValue: UInt64(INDEXTTS_CPU_SSE41))
    public static let sse42 = InstructionSets(rawValue: UInt64(INDEXTTS_CPU_SSE42))
    public static let popcnt = InstructionSets(rawValue: UInt64(INDEXTTS_CPU_POPCNT))
    public static let avx = InstructionSets(rawValue: UInt64(INDEXTTS_CPU_AVX))
    public static let f16c = InstructionSets(rawValue: UInt64(INDEXTTS_CPU_F16C))
    public static let fma = InstructionSets(rawValue: UInt64(INDEXTTS_CPU_FMA))
    public static let avx2 = InstructionSets(rawValue: UInt64(INDEXTTS_CPU_AVX2))
    public static let bmi1 = InstructionSets(rawValue: UInt64(INDEXTTS_CPU_BMI1))
    public static let bmi2 = InstructionSets(rawValue: UInt64(INDEXTTS_CPU_BMI2))
    public static let lzcnt = InstructionSets(rawValue: UInt64(INDEXTTS_CPU_LZCNT))
    public static let movbe = InstructionSets(rawValue: UInt64(INDEXTTS_CPU_MOVBE))
    public static let avx512f = InstructionSets(rawValue: UInt64(INDEXTTS_CPU_AVX512F))
    public static let avx512dq = InstructionSets(rawValue: UInt64(INDEXTTS_CPU_AVX512DQ))
    public static let avx512cd = InstructionSets(rawValue: UInt64(INDEXTTS_CPU_AVX512CD))
    public static let avx512bw = InstructionSets(rawValue: UInt64(INDEXTTS_CPU_AVX512BW))
    public static let avx512vl = InstructionSets(rawValue: UInt64(INDEXTTS_CPU_AVX512VL))
    public static let avx512vnni = InstructionSets(rawValue: UInt64(INDEXTTS_CPU_AVX512VNNI))
    public static let avx512bf16 = InstructionSets(rawValue: UInt64(INDEXTTS_CPU_AVX512BF16))
    public static let avx512fp16 = InstructionSets(rawValue: UInt64(INDEXTTS_CPU_AVX512FP16))
    public static let amxTile = InstructionSets(rawValue: UInt64(INDEXTTS_CPU_AMXTILE))
    public static let amxBF16 = InstructionSets(rawValue: UInt64(INDEXTTS_CPU_AMXBF16))
    public static let amxInt8 = InstructionSets(rawValue: UInt64(INDEXTTS_CPU_AMXINT8))
    public static let avxVNNI = InstructionSets(rawValue: UInt64(INDEXTTS_CPU_AVXVNNI))

    /// What the release build is compiled for (`-target-cpu haswell`): AVX2, FMA, F16C, BMI1/2, LZCNT, MOVBE, POPCNT.
    public static let haswell = InstructionSets(rawValue: indextts_cpu_required_features())
    /// The AVX-512 subset OpenBLAS's SkylakeX kernels need (F, DQ, CD, BW, VL).
    public static let avx512Core: InstructionSets = [.avx512f, .avx512dq, .avx512cd, .avx512bw, .avx512vl]

    /// Names as Linux's `/proc/cpuinfo` spells them (except `sse3` and `lzcnt`, which it calls `pni` and `abm`), in a
    /// fixed order.
    public static let names: [(InstructionSets, String)] = [
        (.sse3, "sse3"), (.ssse3, "ssse3"), (.sse41, "sse4_1"), (.sse42, "sse4_2"), (.popcnt, "popcnt"), (.avx, "avx"),
        (.f16c, "f16c"), (.fma, "fma"), (.avx2, "avx2"), (.bmi1, "bmi1"), (.bmi2, "bmi2"), (.lzcnt, "lzcnt"),
        (.movbe, "movbe"), (.avxVNNI, "avx_vnni"), (.avx512f, "avx512f"), (.avx512dq, "avx512dq"),
        (.avx512cd, "avx512cd"), (.avx512bw, "avx512bw"), (.avx512vl, "avx512vl"), (.avx512vnni, "avx512_vnni"),
        (.avx512bf16, "avx512_bf16"), (.avx512fp16, "avx512_fp16"), (.amxTile, "amx_tile"), (.amxBF16, "amx_bf16"),
        (.amxInt8, "amx_int8"),
    ]

    /// The names of the members, in the order of ``names``.
    public var nameList: [String] { Self.names.filter { contains($0.0) }.map(\.1) }

    /// The widest vector class, for one-word summaries: "avx512", "avx2", "avx", "sse".
    public var vectorClass: String {
        if isSuperset(of: .avx512Core) { return "avx512" }
        if isSuperset(of: [.avx2, .fma]) { return "avx2" }
        if contains(.avx) { return "avx" }
        return "sse"
    }
}

/// The CPU this process runs on.
public struct CPUIdentity: Sendable, Equatable {
    /// CPUID vendor string ("GenuineIntel", "AuthenticAMD"); empty off x86.
    public var vendor: String
    /// Brand string ("Intel(R) Xeon(R) Platinum 8480+"), or `/proc/cpuinfo`'s model name off x86.
    public var brand: String
    public var family: Int
    public var model: Int
    public var instructionSets: InstructionSets

    public init(vendor: String, brand: String, family: Int = 0, model: Int = 0, instructionSets: InstructionSets) {
        self.vendor = vendor
        self.brand = brand
        self.family = family
        self.model = model
        self.instructionSets = instructionSets
    }

    /// This machine's CPU.
    public static let current: CPUIdentity = {
        var vendor = [CChar](repeating: 0, count: 16), brand = [CChar](repeating: 0, count: 64)
        indextts_cpu_vendor(&vendor)
        indextts_cpu_brand(&brand)
        var brandName = string(brand)
        if brandName.isEmpty { brandName = procCPUInfoModelName() ?? "unknown CPU" }
        return CPUIdentity(vendor: string(vendor), brand: brandName, family: Int(indextts_cpu_family()),
                           model: Int(indextts_cpu_model()),
                           instructionSets: InstructionSets(rawValue: indextts_cpu_features()))
    }()

    public var isAMD: Bool { vendor == "AuthenticAMD" || vendor == "HygonGenuine" }

    private static func string(_ chars: [CChar]) -> String {
        String(decoding: chars.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func procCPUInfoModelName() -> String? {
        guard let file = fopen("/proc/cpuinfo", "r") else { return nil }
        defer { fclose(file) }
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, file) > 0, let line {
            let text = String(cString: line)
            for key in ["model name", "Model", "cpu model"] where text.hasPrefix(key) {
                if let colon = text.firstIndex(of: ":") {
                    return text[text.index(after: colon)...].trimmingCharacters()
                }
            }
        }
        return nil
    }
}

private extension StringProtocol {
    func trimmingCharacters() -> String {
        String(drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" || $0 == "\n" }).reversed())
    }
}

/// Which OpenBLAS kernel set ("core") fits a CPU, and whether the one OpenBLAS chose leaves speed behind.
///
/// Debian's OpenBLAS (0.3.21, `DYNAMIC_ARCH`) picks its kernels by CPU model. A CPU newer than the library — an Intel
/// Xeon with AVX-512/AMX, say — is not recognised and gets the generic **Prescott** (SSE3) kernels: sgemm runs at a
/// fifth of the speed (docs/BENCHMARKS.md). `OPENBLAS_CORETYPE` overrides the choice, but only when set before the
/// library loads, so the `indextts` binary re-executes itself with it (see the CLI's start-up tuning).
public enum BLASCoreAdvisor {
    /// Vector class an OpenBLAS core's kernels use.
    public enum Level: Int, Comparable, Sendable {
        case sse = 0, avx, avx2, avx512
        public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }
    }

    /// The x86-64 cores of OpenBLAS 0.3.x `DYNAMIC_ARCH` builds by the vector class of their kernels; nil for names
    /// this table does not know (a newer OpenBLAS), which are then left alone.
    public static func level(ofCore name: String) -> Level? {
        switch name.lowercased() {
        case "unknown", "katmai", "coppermine", "northwood", "prescott", "banias", "atom", "core2", "penryn",
             "dunnington", "nehalem", "athlon", "opteron", "opteron_sse3", "barcelona", "bobcat", "nano":
            return .sse
        case "sandybridge", "bulldozer", "piledriver", "steamroller":
            return .avx
        case "haswell", "zen", "excavator":
            return .avx2
        case "skylakex", "cooperlake", "sapphirerapids":
            return .avx512
        default:
            return nil
        }
    }

    /// The best core of OpenBLAS 0.3.21 for `cpu`: Cooperlake (SkylakeX plus bf16 kernels) or SkylakeX on AVX-512,
    /// Zen on AMD and Haswell on other CPUs with AVX2+FMA, Sandybridge with AVX only; nil without AVX.
    public static func bestCore(for cpu: CPUIdentity) -> String? {
        let isa = cpu.instructionSets
        if isa.isSuperset(of: .avx512Core) { return isa.contains(.avx512bf16) ? "Cooperlake" : "SkylakeX" }
        if isa.isSuperset(of: [.avx2, .fma]) { return cpu.isAMD ? "Zen" : "Haswell" }
        if isa.contains(.avx) { return "Sandybridge" }
        return nil
    }

    /// The `OPENBLAS_CORETYPE` to run with when OpenBLAS chose `detected` on `cpu`: a core of a wider vector class
    /// than the detected one, or nil when the choice is already right (or unknown to this table), when the CPU has
    /// nothing better, or when the library is not a `DYNAMIC_ARCH` build (it would ignore the variable).
    public static func recommendedCoreType(detected: String, configuration: String, cpu: CPUIdentity) -> String? {
        guard configuration.contains("DYNAMIC_ARCH"), let have = level(ofCore: detected),
              let best = bestCore(for: cpu), let bestLevel = level(ofCore: best), bestLevel > have else { return nil }
        return best
    }
}

extension BLASCoreAdvisor {
    public static let threadTimeoutVariable = "OPENBLAS_THREAD_TIMEOUT"
    /// 2^18 cycles (≈ 0.1 ms) of spinning before OpenBLAS's idle workers sleep, instead of 2^28 (≈ 0.1 s).
    public static let threadTimeoutValue = "18"
    public static let coreTypeVariable = "OPENBLAS_CORETYPE"
    /// libgomp's idle policy (read when the library loads), set to `PASSIVE` at start-up unless the user set it.
    public static let openMPWaitPolicyVariable = "OMP_WAIT_POLICY"

    /// The environment variables an executable should set (and then re-execute itself with, since OpenBLAS reads
    /// them in its library constructor) for a process whose environment is `environment`, where OpenBLAS detected
    /// `detectedCore` (build `configuration`) on `cpu`: the thread timeout, and the right core with the detected one
    /// recorded in ``ComputeEnvironment/detectedCoreVariable``. Variables the user set are never changed; nothing is
    /// returned when `INDEXTTS_NO_REEXEC` is set. Empty when nothing needs to change.
    public static func startupChanges(environment: (String) -> String?, detectedCore: String, configuration: String,
                                      cpu: CPUIdentity) -> [(name: String, value: String)] {
        guard environment("INDEXTTS_NO_REEXEC") == nil else { return [] }
        var changes: [(name: String, value: String)] = []
        if environment(threadTimeoutVariable) == nil { changes.append((threadTimeoutVariable, threadTimeoutValue)) }
        // oneDNN (bfloat16 products) runs on libgomp, whose idle workers otherwise spin for a while after every
        // parallel region, taking the cores from OpenBLAS and our own kernels that run next.
        if environment(openMPWaitPolicyVariable) == nil { changes.append((openMPWaitPolicyVariable, "PASSIVE")) }
        if environment(coreTypeVariable) == nil,
           let core = recommendedCoreType(detected: detectedCore, configuration: configuration, cpu: cpu) {
            changes.append((coreTypeVariable, core))
            changes.append((ComputeEnvironment.detectedCoreVariable, detectedCore))
        }
        return changes
    }
}

/// What the compute core runs on: CPU, instruction sets, OpenBLAS build and kernel choice, thread counts. Every
/// benchmark prints it; the server logs it at start-up and exports it at `/metrics`.
public struct ComputeEnvironment: Sendable {
    /// Set by the `indextts` binary when it chose `OPENBLAS_CORETYPE` itself: the core OpenBLAS had detected.
    public static let detectedCoreVariable = "INDEXTTS_BLAS_CORE_DETECTED"

    public var cpu: CPUIdentity
    public var onlineCores: Int
    /// Threads of our own kernels (``Parallel/workerCount``).
    public var kernelThreads: Int
    /// `openblas_get_corename()`: the kernel set in use.
    public var blasCore: String
    /// `openblas_get_config()`: version and build options.
    public var blasConfiguration: String
    public var blasThreads: Int
    /// How the core was chosen, in words.
    public var blasCoreOrigin: String
    /// The library of large fp32 matrix products (``Float32GEMMEngine/current``): `onednn` or `openblas`.
    public var float32GEMMEngine: String { Float32GEMMEngine.current.rawValue }
    /// How the core was chosen, as one word: `detected` (by OpenBLAS), `environment` (the user's
    /// `OPENBLAS_CORETYPE`) or `indextts` (the binary's start-up re-exec).
    public var blasCoreChoice: String {
        blasCoreOrigin.hasPrefix("detected") ? "detected" : blasCoreOrigin.contains("set by indextts") ? "indextts" : "environment"
    }

    /// The running process's environment.
    public static func current() -> ComputeEnvironment {
        let core = String(cString: openblas_get_corename())
        let configuration = String(cString: openblas_get_config())
        let origin: String
        if let forced = environment("OPENBLAS_CORETYPE") {
            if let detected = environment(detectedCoreVariable) {
                origin = "OPENBLAS_CORETYPE=\(forced) set by indextts (OpenBLAS detected \(detected) on this CPU)"
            } else {
                origin = "OPENBLAS_CORETYPE=\(forced) from the environment"
            }
        } else {
            origin = "detected by OpenBLAS"
        }
        return ComputeEnvironment(
            cpu: .current, onlineCores: max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))), kernelThreads: Parallel.workerCount,
            blasCore: core, blasConfiguration: configuration, blasThreads: Int(openblas_get_num_threads()),
            blasCoreOrigin: origin)
    }

    /// The recommendation for this process (``BLASCoreAdvisor/recommendedCoreType(detected:configuration:cpu:)``).
    public var recommendedBLASCore: String? {
        BLASCoreAdvisor.recommendedCoreType(detected: blasCore, configuration: blasConfiguration, cpu: cpu)
    }

    /// OpenBLAS's version ("0.3.21") from its configuration string.
    public var blasVersion: String {
        let words = blasConfiguration.split(separator: " ")
        if let i = words.firstIndex(of: "OpenBLAS"), i + 1 < words.count { return String(words[i + 1]) }
        return blasConfiguration
    }

    /// Human-readable lines for benchmark headers and logs.
    public var lines: [String] {
        var result = [
            "cpu: \(cpu.brand)\(cpu.vendor.isEmpty ? "" : " (\(cpu.vendor), family \(cpu.family) model \(cpu.model))"), \(onlineCores) online cores",
            "instruction sets: \(cpu.instructionSets.nameList.joined(separator: " "))",
            "blas: OpenBLAS \(blasVersion), core \(blasCore) (\(blasCoreOrigin)), \(blasThreads) threads; our kernels: \(kernelThreads) threads ("
                + (Parallel.poolWorkers > 0
                    ? "pool of \(Parallel.poolWorkers) worker\(Parallel.poolWorkers == 1 ? "" : "s") polling \(Parallel.poolSpinMicroseconds) µs"
                    : kernelThreads > 1 ? "libdispatch" : "on the calling thread") + ")",
            "bf16 products (--precision bf16): " + (ComputePrecision.unsupportedBFloat16Reason.map { "unavailable: " + $0 }
                                                     ?? "native, oneDNN \(ComputePrecision.oneDNNVersion)"),
            "own C kernels: \(KernelSet.supported.rawValue) supported; fp16 GEMV uses \(HalfMatrix.defaultKernels.rawValue) "
                + "(wide rows: \(HalfMatrix.tileKernels.rawValue) tiles), fp32 beams \(SmallBatchLinear.defaultKernels.rawValue), "
                + "attention softmax \(RowKernels.softmaxKernels.rawValue)"
                + (KernelSet.forced != nil ? " (\(KernelSet.environmentVariable) forces them)" : ""),
            "fp32 matrix products: \(Float32GEMMEngine.description) (\(Float32GEMMEngine.environmentVariable)=openblas chooses OpenBLAS throughout)",
            "1-D convolutions: " + (Tensor.oneDNNConvolution
                ? "oneDNN on channel-major rows, oneDNN brgemm tiles on time-major rows (English HiFi-GAN)"
                : "im2col + OpenBLAS") + " (INDEXTTS_CONV=im2col chooses im2col + OpenBLAS)",
        ]
        if let better = recommendedBLASCore {
            result.append("warning: OpenBLAS runs its \(blasCore) kernels on a CPU that supports \(better); "
                          + "set OPENBLAS_CORETYPE=\(better) for several times faster matrix products")
        }
        return result
    }

    private static func environment(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        let text = String(cString: value)
        return text.isEmpty ? nil : text
    }
}

extension ComputeEnvironment: Encodable {
    private enum Keys: String, CodingKey {
        case cpu, vendor, family, model, instructionSets, vectorClass, onlineCores, kernelThreads
        case blasVersion, blasCore, blasCoreOrigin, blasCoreChoice, blasConfiguration, blasThreads, recommendedBLASCore
        case float32GEMMEngine
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(cpu.brand, forKey: .cpu)
        try c.encode(cpu.vendor, forKey: .vendor)
        try c.encode(cpu.family, forKey: .family)
        try c.encode(cpu.model, forKey: .model)
        try c.encode(cpu.instructionSets.nameList, forKey: .instructionSets)
        try c.encode(cpu.instructionSets.vectorClass, forKey: .vectorClass)
        try c.encode(onlineCores, forKey: .onlineCores)
        try c.encode(kernelThreads, forKey: .kernelThreads)
        try c.encode(blasVersion, forKey: .blasVersion)
        try c.encode(blasCore, forKey: .blasCore)
        try c.encode(blasCoreOrigin, forKey: .blasCoreOrigin)
        try c.encode(blasCoreChoice, forKey: .blasCoreChoice)
        try c.encode(blasConfiguration, forKey: .blasConfiguration)
        try c.encode(blasThreads, forKey: .blasThreads)
        try c.encodeIfPresent(recommendedBLASCore, forKey: .recommendedBLASCore)
        try c.encode(float32GEMMEngine, forKey: .float32GEMMEngine)
    }
}
