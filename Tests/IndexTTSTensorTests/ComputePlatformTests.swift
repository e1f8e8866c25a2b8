import Foundation
import IndexTTSTensor
import Testing

/// CPU identification and the OpenBLAS core choice (issue: Debian's OpenBLAS 0.3.21 runs its Prescott kernels on
/// AVX-512 Xeons it does not recognise).
struct ComputePlatformTests {
    static let xeon = CPUIdentity(vendor: "GenuineIntel", brand: "Intel(R) Xeon(R) Platinum 8480+", family: 6, model: 143,
                                  instructionSets: [.sse3, .avx, .avx2, .fma, .f16c, .avx512f, .avx512dq, .avx512cd,
                                                    .avx512bw, .avx512vl, .avx512vnni, .avx512bf16, .avx512fp16, .amxTile])
    static let skylake = CPUIdentity(vendor: "GenuineIntel", brand: "Xeon Gold 6148", family: 6, model: 85,
                                     instructionSets: [.sse3, .avx, .avx2, .fma, .f16c, .avx512f, .avx512dq, .avx512cd,
                                                       .avx512bw, .avx512vl])
    static let epycZen3 = CPUIdentity(vendor: "AuthenticAMD", brand: "AMD EPYC 7B13", family: 25, model: 1,
                                      instructionSets: [.sse3, .avx, .avx2, .fma, .f16c])
    static let sandyBridge = CPUIdentity(vendor: "GenuineIntel", brand: "Xeon E5-2670", family: 6, model: 45,
                                         instructionSets: [.sse3, .avx])
    static let oldCPU = CPUIdentity(vendor: "GenuineIntel", brand: "Core 2", instructionSets: [.sse3])
    static let dynamic = "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH NO_AFFINITY Prescott MAX_THREADS=64"

    @Test func fallbackCoresAreReplacedByTheCPUsBest() {
        #expect(BLASCoreAdvisor.recommendedCoreType(detected: "Prescott", configuration: Self.dynamic, cpu: Self.xeon) == "Cooperlake")
        #expect(BLASCoreAdvisor.recommendedCoreType(detected: "Prescott", configuration: Self.dynamic, cpu: Self.skylake) == "SkylakeX")
        #expect(BLASCoreAdvisor.recommendedCoreType(detected: "Nehalem", configuration: Self.dynamic, cpu: Self.epycZen3) == "Zen")
        #expect(BLASCoreAdvisor.recommendedCoreType(detected: "Core2", configuration: Self.dynamic, cpu: Self.sandyBridge) == "Sandybridge")
        // An AVX2 core on an AVX-512 CPU still leaves the wider kernels unused.
        #expect(BLASCoreAdvisor.recommendedCoreType(detected: "Haswell", configuration: Self.dynamic, cpu: Self.skylake) == "SkylakeX")
    }

    @Test func rightOrUnknownChoicesAreLeftAlone() {
        for (core, cpu) in [("Cooperlake", Self.xeon), ("SkylakeX", Self.skylake), ("Zen", Self.epycZen3), ("Haswell", Self.epycZen3),
                            ("Prescott", Self.oldCPU), ("SapphireRapids", Self.xeon), ("Zen5", Self.xeon)] {
            #expect(BLASCoreAdvisor.recommendedCoreType(detected: core, configuration: Self.dynamic, cpu: cpu) == nil, "\(core)")
        }
        // A library built for one CPU ignores OPENBLAS_CORETYPE: nothing to gain from re-executing.
        #expect(BLASCoreAdvisor.recommendedCoreType(detected: "Prescott", configuration: "OpenBLAS 0.3.21 NO_LAPACKE Prescott",
                                                    cpu: Self.xeon) == nil)
    }

    @Test func startupChangesRespectTheUsersSettings() {
        func changes(_ env: [String: String], detected: String = "Prescott") -> [String: String] {
            Dictionary(uniqueKeysWithValues: BLASCoreAdvisor.startupChanges(
                environment: { env[$0] }, detectedCore: detected, configuration: Self.dynamic, cpu: Self.xeon).map { ($0.name, $0.value) })
        }
        let passive = ["OMP_WAIT_POLICY": "PASSIVE"]
        #expect(changes([:]) == passive.merging(["OPENBLAS_THREAD_TIMEOUT": "18", "OPENBLAS_CORETYPE": "Cooperlake",
                                                 ComputeEnvironment.detectedCoreVariable: "Prescott"]) { a, _ in a })
        #expect(changes(["OPENBLAS_CORETYPE": "Haswell"]) == passive.merging(["OPENBLAS_THREAD_TIMEOUT": "18"]) { a, _ in a })
        #expect(changes(["OPENBLAS_THREAD_TIMEOUT": "4", "OMP_WAIT_POLICY": "ACTIVE"])
                == ["OPENBLAS_CORETYPE": "Cooperlake", ComputeEnvironment.detectedCoreVariable: "Prescott"])
        // After the exec all are set: no second exec.
        #expect(changes(["OPENBLAS_THREAD_TIMEOUT": "18", "OPENBLAS_CORETYPE": "Cooperlake", "OMP_WAIT_POLICY": "PASSIVE"]).isEmpty)
        #expect(changes(["OMP_WAIT_POLICY": "PASSIVE"], detected: "Cooperlake") == ["OPENBLAS_THREAD_TIMEOUT": "18"])
        #expect(changes(["INDEXTTS_NO_REEXEC": "1"]).isEmpty)
    }

    @Test func coreLevelsCoverOpenBLASNames() {
        #expect(BLASCoreAdvisor.level(ofCore: "prescott") == .sse)
        #expect(BLASCoreAdvisor.level(ofCore: "Sandybridge") == .avx)
        #expect(BLASCoreAdvisor.level(ofCore: "Zen") == .avx2)
        #expect(BLASCoreAdvisor.level(ofCore: "SkylakeX") == .avx512)
        #expect(BLASCoreAdvisor.level(ofCore: "NotACore") == nil)
        #expect(BLASCoreAdvisor.bestCore(for: Self.oldCPU) == nil)
    }

    /// This machine as the library sees it: CPUID agrees with the kernel's view in /proc/cpuinfo, and OpenBLAS answers.
    @Test func currentEnvironmentIsConsistent() throws {
        let environment = ComputeEnvironment.current()
        #expect(!environment.blasCore.isEmpty)
        #expect(environment.blasConfiguration.contains("OpenBLAS"))
        #expect(environment.blasThreads >= 1 && environment.kernelThreads >= 1 && environment.onlineCores >= 1)
        #expect(environment.lines.count >= 3)
        #if arch(x86_64) && os(Linux)
        let cpuinfo = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        // /proc/cpuinfo spells SSE3 "pni" and LZCNT "abm".
        let aliases = ["pni": "sse3", "abm": "lzcnt"]
        let flags = Set(cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") }?
            .split(separator: ":").last?.split(separator: " ").map { aliases[String($0)] ?? String($0) } ?? [])
        let isa = environment.cpu.instructionSets
        // AMX is left out: its register state is granted per process, and hypervisors differ in what they expose.
        for (member, name) in InstructionSets.names where !name.hasPrefix("amx") {
            // The kernel hides AVX features it does not save state for, as CPUID plus XGETBV does here.
            #expect(isa.contains(member) == flags.contains(name), "\(name)")
        }
        #expect(!environment.cpu.vendor.isEmpty && !environment.cpu.brand.isEmpty)
        #endif
    }
}
