import COpenBLAS
import Dispatch

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Kernel-level measurements behind `indextts bench ops`: GEMM throughput through our API next to OpenBLAS called
/// directly, decode-shaped matrix-vector bandwidth, and the machine's copy and read bandwidth for reference.
/// Returns numbers; printing is the caller's job.
public enum OpsBenchmark {
    public struct Options: Sendable {
        /// Timed repetitions per measurement (the best is reported).
        public var repetitions: Int = 11
        /// Layers in the decode sweep (IndexTTS2's GPT has 24).
        public var layers: Int = 24
        /// Model width of the decode-shaped product (1280 for IndexTTS2), and the MLP width (4×).
        public var width: Int = 1280
        /// Buffer size for the copy/read bandwidth probes.
        public var bandwidthBytes: Int = 512 << 20
        public init() {}
    }

    public struct Measurement: Sendable, Codable {
        public let name: String
        /// Best wall time of one repetition, seconds.
        public let seconds: Double
        /// GFLOP/s for compute probes, GB/s for bandwidth probes.
        public let rate: Double
        public let unit: String
        public let detail: String

        public init(name: String, seconds: Double, rate: Double, unit: String, detail: String) {
            self.name = name
            self.seconds = seconds
            self.rate = rate
            self.unit = unit
            self.detail = detail
        }
    }

    public static func run(_ options: Options = Options()) -> [Measurement] {
        var results: [Measurement] = []
        let n = options.width, wide = 4 * options.width
        // Memory reference points.
        results.append(copyBandwidth(bytes: options.bandwidthBytes, repetitions: options.repetitions))
        results.append(readBandwidth(bytes: options.bandwidthBytes, repetitions: options.repetitions))
        // GEMM: square and prefill-shaped, through Tensor.matmul/linear and through cblas_sgemm directly.
        for (m, k, nn, label) in [(1024, 1024, 1024, "1024x1024x1024"), (256, n, wide, "prefill 256x\(n)x\(wide)")] {
            let a = random([m, k], seed: 1), b = random([nn, k], seed: 2)
            let flops = 2.0 * Double(m) * Double(k) * Double(nn)
            let ours = bestTime(options.repetitions) { _ = try? a.linear(weight: b) }
            results.append(Measurement(name: "gemm (Tensor.linear) \(label)", seconds: ours, rate: flops / ours / 1e9,
                                       unit: "GFLOP/s", detail: "x[M,K]·W[N,K]ᵀ"))
            let c = TensorStorage(count: m * nn)
            let direct = bestTime(options.repetitions) {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, blasint(m), blasint(nn), blasint(k), 1,
                            a.basePointer, blasint(k), b.basePointer, blasint(k), 0, c.pointer, blasint(nn))
            }
            results.append(Measurement(name: "gemm (cblas_sgemm alone) \(label)", seconds: direct,
                                       rate: flops / direct / 1e9, unit: "GFLOP/s", detail: "reference"))
        }
        // The same prefill shape with weights stored [in, out] (Hugging Face GPT-2 Conv1D, no transpose).
        let x256 = random([256, n], seed: 5), wInOut = random([n, wide], seed: 6)
        let inOut = bestTime(options.repetitions) { _ = try? x256.linear(weight: wInOut, layout: .inOut) }
        results.append(Measurement(name: "gemm (linear, [in,out] W) prefill 256x\(n)x\(wide)",
                                   seconds: inOut, rate: 2.0 * 256 * Double(n) * Double(wide) / inOut / 1e9,
                                   unit: "GFLOP/s", detail: "HF Conv1D layout"))
        // Decode-shaped GEMV: one row through a [4·width, width] matrix (the GPT MLP up-projection).
        let x = random([1, n], seed: 3)
        let single = random([wide, n], seed: 4)
        let bytes = Double(wide * n * 4)
        let hot = bestTime(options.repetitions) { _ = try? x.linear(weight: single) }
        results.append(Measurement(name: "gemv 1x\(n) · \(n)x\(wide) (one matrix, cache-warm)", seconds: hot,
                                   rate: bytes / hot / 1e9, unit: "GB/s", detail: "weight bytes / time"))
        // A sweep over distinct matrices, as decoding walks the layers: weights come from DRAM every time.
        let layers = (0..<options.layers).map { random([wide, n], seed: UInt64(10 + $0)) }
        let sweep = bestTime(options.repetitions) {
            for w in layers { _ = try? x.linear(weight: w) }
        }
        let halves = layers.compactMap { try? HalfMatrix($0) }
        // fp16 weights, 1 row (one sequence) and 3 rows (IndexTTS2's beams), with every kernel set this CPU runs.
        for rows in [1, 3] {
            let input = random([rows, n], seed: 7)
            for set in KernelSet.allCases.reversed() where set <= KernelSet.supported {
                let halfSweep = bestTime(options.repetitions) {
                    for w in halves { _ = try? w.multiply(input, kernels: set) }
                }
                // 2–4 rows too wide for the GEMV run through the register tiles (HalfMatrix.gemvInputBytes).
                let tiles = rows >= 2 && rows * n * 4 > HalfMatrix.gemvInputBytes && set != .swift
                results.append(Measurement(
                    name: "gemv sweep, fp16 weights (HalfMatrix), \(rows) row\(rows == 1 ? "" : "s"), \(set.rawValue) \(tiles ? "tiles" : "kernels")",
                    seconds: halfSweep,
                    rate: bytes / 2 * Double(options.layers) / halfSweep / 1e9, unit: "GB/s",
                    detail: "\(String(format1: bytes / 2 * Double(options.layers) / 1e6)) MB of weights per sweep"
                        + (set == (tiles ? HalfMatrix.tileKernels : HalfMatrix.defaultKernels) ? " (in use)" : "")))
            }
        }
        // fp32 weights in the GPT's Conv1D layout ([in, out] = [width, 4·width]), 3 rows (one request's beams: every
        // kernel set) and 6 (two requests decoding together: the portable loop, which takes more than 4 rows on every
        // set): SmallBatchLinear.
        let output = UnsafeMutablePointer<Float>.allocate(capacity: 6 * wide)
        defer { output.deallocate() }
        output.initialize(repeating: 0, count: 6 * wide)
        for rows in [3, 6] {
            let beams = random([rows, n], seed: 8)
            for set in KernelSet.allCases.reversed() where set <= KernelSet.supported && (rows <= SmallBatchLinear.kernelRows || set == .swift) {
                let rowsSweep = bestTime(options.repetitions) {
                    for w in layers {
                        SmallBatchLinear.inOut(weight: w.basePointer, k: n, n: wide, x: beams.basePointer, rows: rows,
                                               y: output, kernels: set)
                    }
                }
                results.append(Measurement(
                    name: "gemv sweep, fp32 [in,out] weights, \(rows) rows, \(set.rawValue) kernels", seconds: rowsSweep,
                    rate: bytes * Double(options.layers) / rowsSweep / 1e9, unit: "GB/s",
                    detail: "\(String(format1: bytes * Double(options.layers) / 1e6)) MB of weights per sweep"
                        + (set == (rows <= SmallBatchLinear.kernelRows ? SmallBatchLinear.defaultKernels : .swift) ? " (in use)" : "")))
            }
        }
        // fp32 weights in torch.nn.Linear's [out, in] layout ([4·width, width], as stored), 3 rows: IndexTTS2's mel
        // head ([8194, 1280]) under 3 beams.
        let heads = random([3, n], seed: 9)
        for set in KernelSet.allCases.reversed() where set <= KernelSet.supported {
            let rowsSweep = bestTime(options.repetitions) {
                for w in layers {
                    SmallBatchLinear.outIn(weight: w.basePointer, k: n, n: wide, x: heads.basePointer, rows: 3, y: output,
                                           kernels: set)
                }
            }
            results.append(Measurement(
                name: "gemv sweep, fp32 [out,in] weights, 3 rows, \(set.rawValue) kernels", seconds: rowsSweep,
                rate: bytes * Double(options.layers) / rowsSweep / 1e9, unit: "GB/s",
                detail: "\(String(format1: bytes * Double(options.layers) / 1e6)) MB of weights per sweep"
                    + (set == SmallBatchLinear.defaultKernels ? " (in use)" : "")))
        }
        results.append(Measurement(
            name: "gemv sweep over \(options.layers) matrices \(n)x\(wide)", seconds: sweep,
            rate: bytes * Double(options.layers) / sweep / 1e9, unit: "GB/s",
            detail: "\(String(format1: bytes * Double(options.layers) / 1e6)) MB of weights per sweep"))
        results += attention(repetitions: options.repetitions)
        return results
    }

    /// Bidirectional attention of the S2M DiT's shape (a batch of 2, 8 heads, 1,291 queries and keys, head width
    /// 64, the heads as strided views of a fused projection): in fp32 on our attention kernel (AVX-512 or AVX2) and on
    /// BLAS products around softmax passes; in bfloat16, where it is native, on the AVX512-BF16 attention kernel and
    /// on oneDNN's products around our softmax rows.
    public static func attention(repetitions: Int, frames: Int = 1291) -> [Measurement] {
        let (batch, heads, d) = (2, 8, 64)
        let qkv = random([batch, frames, 3 * heads * d], seed: 9)
        func view(_ part: Int) -> Tensor {
            (try? qkv.sliced(axis: 2, range: (part * heads * d)..<((part + 1) * heads * d))
                .unflattened(axis: 2, into: [heads, d]).permuted([0, 2, 1, 3])) ?? qkv
        }
        let (q, k, v) = (view(0), view(1), view(2))
        let flops = 4 * Double(batch * heads) * Double(frames) * Double(frames) * Double(d)
        // fp32 (the default arithmetic): our kernel on the attention softmax's instruction set, then the BLAS
        // products around softmax passes over the whole score matrix; bf16 where it is native: its kernel, then
        // oneDNN's products around our softmax rows.
        var probes: [(precision: ComputePrecision, name: String, kernel: Bool, label: String)] = []
        if Tensor.float32AttentionKernel {
            probes.append((.float32, "fp32", true, "\(RowKernels.softmaxKernels.rawValue) kernel"))
        }
        probes.append((.float32, "fp32", false, "BLAS products"))
        if ComputePrecision.bfloat16Supported {
            if Tensor.bfloat16AttentionKernel { probes.append((.bfloat16, "bf16", true, "AVX512-BF16 kernel")) }
            probes.append((.bfloat16, "bf16", false, "oneDNN products"))
        }
        return probes.map { probe in
            let time = bestTime(repetitions) {
                _ = try? Tensor.scaledDotProductAttention(query: q, key: k, value: v, mask: .none, scale: nil,
                                                          precision: probe.precision, attentionKernel: probe.kernel)
            }
            return Measurement(
                name: "attention \(probe.name) \(batch)x\(heads) heads \(frames)x\(frames)x\(d), \(probe.label)",
                seconds: time, rate: flops / time / 1e9, unit: "GFLOP/s", detail: "Q·Kᵀ and P·V flops / time")
        }
    }

    /// memcpy of a large buffer; bandwidth counts bytes read plus bytes written (STREAM "copy" convention).
    static func copyBandwidth(bytes: Int, repetitions: Int) -> Measurement {
        let source = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        let destination = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        defer { source.deallocate(); destination.deallocate() }
        memset(source, 1, bytes)
        memset(destination, 0, bytes)
        let workers = Parallel.workerCount
        let src = UncheckedSendableBox(source), dst = UncheckedSendableBox(destination)
        let time = bestTime(repetitions) {
            let per = bytes / workers
            DispatchQueue.concurrentPerform(iterations: workers) { i in
                memcpy(dst.value + i * per, src.value + i * per, per)
            }
        }
        return Measurement(name: "copy bandwidth (memcpy, \(workers) threads)", seconds: time,
                           rate: 2 * Double(bytes) / time / 1e9, unit: "GB/s", detail: "read + write bytes / time")
    }

    /// Sum over a large float buffer with SIMD accumulators on every core; bandwidth counts bytes read.
    public static func readBandwidth(bytes: Int = 512 << 20, repetitions: Int = 3) -> Measurement {
        let count = bytes / 4
        let buffer = TensorStorage(count: count, repeating: 1)
        let pointer = UnsafePointer(buffer.pointer)
        // Each chunk stores its sum so the reads cannot be optimised away.
        let sums = TensorStorage(count: count, repeating: 0)
        let time = bestTime(repetitions) {
            Parallel.forEachChunk(count: count, minimumChunk: 1 << 20) { range in
                sums.pointer[range.lowerBound] = RowKernels.sum(pointer + range.lowerBound, range.count)
            }
        }
        return Measurement(name: "read bandwidth (SIMD sum, \(Parallel.workerCount) threads)", seconds: time,
                           rate: Double(bytes) / time / 1e9, unit: "GB/s", detail: "bytes read / time")
    }

    static func random(_ shape: [Int], seed: UInt64) -> Tensor {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        return Tensor.make(shape) { out in
            for i in out.indices {
                state ^= state << 13; state ^= state >> 7; state ^= state << 17
                out[i] = Float(Int64(bitPattern: state) % 2001) / 1000 - 1
            }
        }
    }

    /// Best wall time in seconds of `repetitions` runs of `body`, after one warm-up run.
    public static func bestTime(_ repetitions: Int, _ body: () throws -> Void) rethrows -> Double {
        try body()  // warm-up
        var best = Double.infinity
        for _ in 0..<max(repetitions, 1) {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return best
    }
}

extension String {
    /// One decimal place, without Foundation.
    init(format1 value: Double) {
        let scaled = (value * 10).rounded()
        self = "\(Int(scaled) / 10).\(abs(Int(scaled)) % 10)"
    }
}
