import CIndexTTSKernels
import Foundation

/// Which instruction set our own hand-written C kernels (Sources/CIndexTTSKernels) run with. ``supported`` is the
/// best this CPU and build allow: `avx512` (AVX512F/BW/VL with F16C and FMA: 16-lane kernels), `avx2` (AVX2, FMA,
/// F16C: 8-lane kernels, the release build's baseline), or `swift` (the portable Swift SIMD code, on CPUs or
/// architectures with neither). Each kernel picks its default from measurements (the fp16 GEMV: `avx2`, see
/// ``HalfMatrix/defaultKernels``); `INDEXTTS_KERNELS=avx512|avx2|swift` forces one set for every kernel (clamped to
/// ``supported``), so every path can be run and compared on one machine.
public enum KernelSet: String, Sendable, CaseIterable, Comparable {
    case swift
    case avx2
    case avx512

    /// Environment variable that lowers the choice.
    public static let environmentVariable = "INDEXTTS_KERNELS"

    /// The best set this CPU and build support.
    public static let supported: KernelSet = {
        guard indextts_kernels_x86() != 0 else { return .swift }
        let isa = CPUIdentity.current.instructionSets
        if isa.isSuperset(of: [.avx512f, .avx512bw, .avx512vl, .fma, .f16c]) { return .avx512 }
        if isa.isSuperset(of: [.avx2, .fma, .f16c]) { return .avx2 }
        return .swift
    }()

    /// The set `INDEXTTS_KERNELS` forces (clamped to ``supported``), or nil (`auto`, unset): each kernel's default.
    public static let forced: KernelSet? = {
        guard let value = getenv(environmentVariable).map({ String(cString: $0).lowercased() }), !value.isEmpty,
              value != "auto", let asked = KernelSet(rawValue: value) else { return nil }
        return min(asked, supported)
    }()

    public static func < (a: KernelSet, b: KernelSet) -> Bool { a.order < b.order }
    private var order: Int { self == .swift ? 0 : self == .avx2 ? 1 : 2 }
}
