#if canImport(Glibc)
import Glibc
#endif
import Foundation
import IndexTTSTensor
import IndexTTSWeights
import Testing

/// Locates committed fixtures (Tests/Fixtures, see its README for how they are generated).
public enum Fixtures {
    /// Absolute path of `Tests/Fixtures/<relative>`.
    public static func path(_ relative: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures").appendingPathComponent(relative).path
    }

    /// The model cache (`$INDEXTTS_CACHE` or `cache_hub/` at the repository root) that
    /// `scripts/fetch-default-voice.sh` fills; `scripts/test.sh` runs that script before the tests.
    public static func cache(_ relative: String) -> String {
        let root = ProcessInfo.processInfo.environment["INDEXTTS_CACHE"]
            ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent("cache_hub").path
        return URL(fileURLWithPath: root).appendingPathComponent(relative).path
    }

    /// Decodes a JSON fixture.
    public static func json<T: Decodable>(_ relative: String, as type: T.Type) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(contentsOf: URL(fileURLWithPath: path(relative))))
    }

    /// A scratch directory for tests that write files.
    public static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("indextts-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

/// Tolerances for comparing with the PyTorch reference: |actual − expected| ≤ atol + rtol·|expected| (numpy
/// `allclose`). fp32 kernels that sum in another order than PyTorch (BLAS blocking, SIMD lanes) differ by a few ulp
/// per accumulated term, hence rtol 1e-4 with a small absolute floor for values near zero.
public struct Tolerance: Sendable {
    public var rtol: Float
    public var atol: Float
    public init(rtol: Float, atol: Float) {
        self.rtol = rtol
        self.atol = atol
    }
    public static let fp32 = Tolerance(rtol: 1e-4, atol: 1e-5)
}

/// Describes the worst mismatch between two tensors, or returns nil when they agree within `tolerance`.
public func mismatch(_ actual: Tensor, _ expected: Tensor, tolerance: Tolerance = .fp32) -> String? {
    guard actual.shape == expected.shape else { return "shape \(actual.shape) != expected \(expected.shape)" }
    let a = actual.scalars, e = expected.scalars
    var worst: (index: Int, excess: Float)? = nil
    for i in a.indices {
        let bound = tolerance.atol + tolerance.rtol * abs(e[i])
        let error = abs(a[i] - e[i])
        if !(error <= bound) || a[i].isNaN != e[i].isNaN {
            let excess = error.isNaN ? .infinity : error - bound
            if worst == nil || excess > worst!.excess { worst = (i, excess) }
        }
    }
    guard let worst else { return nil }
    return "element \(worst.index): \(a[worst.index]) vs expected \(e[worst.index]) (rtol \(tolerance.rtol), atol \(tolerance.atol))"
}

/// Records a test issue when `actual` and `expected` differ beyond `tolerance`.
public func expectClose(_ actual: Tensor, _ expected: Tensor, tolerance: Tolerance = .fp32, _ label: String = "",
                        sourceLocation: SourceLocation = #_sourceLocation) {
    if let problem = mismatch(actual, expected, tolerance: tolerance) {
        Issue.record("\(label): \(problem)", sourceLocation: sourceLocation)
    }
}

/// Log-spectral comparison. Entries more than `margin` (natural log) above the reference's floor must agree within
/// `atol`; entries near the floor only within `floorAtol`. Justification: in bins 70–90 dB below a frame's peak, fp32
/// FFT round-off (PyTorch's and ours alike) is itself of order 1e-3 relative in power, and the log turns that into
/// errors of that size; those bins are a hair above the clamp and carry no signal.
public func logSpectralMismatch(_ actual: Tensor, _ expected: Tensor, floor: Float, margin: Float = 4,
                                atol: Float = 1e-3, floorAtol: Float = 2e-2) -> String? {
    guard actual.shape == expected.shape else { return "shape \(actual.shape) != expected \(expected.shape)" }
    let a = actual.scalars, e = expected.scalars
    for i in a.indices {
        let bound = e[i] > logf(floor) + margin ? atol : floorAtol
        if !(abs(a[i] - e[i]) <= bound) {
            return "element \(i): \(a[i]) vs expected \(e[i]) (bound \(bound), floor log \(logf(floor)))"
        }
    }
    return nil
}

/// Checks a loader's key verification: writes `store` without `missing` and with `unexpected` (a one-element
/// tensor) to a scratch safetensors file, runs `load` on it and expects a ``WeightsError/keyMismatch`` naming
/// exactly those two keys.
public func expectKeyMismatch<Model>(_ store: WeightStore, missing: String, unexpected: String,
                                     sourceLocation: SourceLocation = #_sourceLocation,
                                     load: (WeightStore) throws -> Model) throws {
    var tensors: [String: Tensor] = [:]
    for key in store.keys where key != missing { tensors[key] = try store.tensor(key) }
    tensors[unexpected] = Tensor.zeros([1])
    let path = try Fixtures.temporaryDirectory().appendingPathComponent("broken.safetensors").path
    try SafeTensorsWriter.write(tensors, to: path)
    do {
        _ = try load(WeightStore.open(path: path))
        Issue.record("a checkpoint without \(missing) and with \(unexpected) loaded", sourceLocation: sourceLocation)
    } catch let WeightsError.keyMismatch(_, missingKeys, unexpectedKeys, _) {
        #expect(missingKeys == [missing], sourceLocation: sourceLocation)
        #expect(unexpectedKeys == [unexpected], sourceLocation: sourceLocation)
    }
}

/// The largest |actual − value| / magnitude over all elements, where `value` is a sum of products computed in Double
/// and `magnitude` the sum of those products' absolute values (the scale fp32 round-off grows with): the bound for
/// fast algorithms (Winograd) that round differently from the direct sum.
public func worstErrorOfMagnitude(_ actual: Tensor, value: [Double], magnitude: [Double]) -> Double {
    let a = actual.scalars
    var worst = 0.0
    for k in a.indices { worst = max(worst, abs(Double(a[k]) - value[k]) / max(magnitude[k], 1e-30)) }
    return worst
}

/// ‖actual − expected‖ / ‖expected‖ over all elements (for reduced-precision bounds, where an element-wise relative
/// tolerance would be dominated by values near zero).
public func relativeRMSDifference(_ actual: Tensor, _ expected: Tensor) -> Double {
    let a = actual.scalars, e = expected.scalars
    var difference = 0.0, norm = 0.0
    for i in a.indices {
        difference += Double(a[i] - e[i]) * Double(a[i] - e[i])
        norm += Double(e[i]) * Double(e[i])
    }
    return (difference / norm).squareRoot()
}

extension WeightStore {
    /// A rank-2 integer tensor of a fixture (codes, masks: int64/int32, widened to fp32 by the reader) as its rows.
    public func integerRows<Integer: BinaryInteger>(_ key: String, as type: Integer.Type = Int.self) throws -> [[Integer]] {
        let t = try tensor(key)
        let values = t.scalars.map { Integer($0) }
        return (0..<t.shape[0]).map { b in Array(values[(b * t.shape[1])..<((b + 1) * t.shape[1])]) }
    }
}
