import CIndexTTSKernels

/// Matrix products of a few rows (2–8: beams decoding together; up to 24 in Conv1D layout on the C kernels: several
/// requests' beams in one pass) against a large weight matrix, streaming the weights from memory exactly once. BLAS
/// GEMM packs the weight panel for such thin products and runs at a fraction of the memory bandwidth; here every core
/// walks its own slice of the weights.
enum SmallBatchLinear {
    static let maximumRows = 8

    /// The kernel set of ``inOut`` unless `INDEXTTS_KERNELS` forces one: AVX2 where the CPU has it. On Zen 4 (`bench
    /// ops`, 24 matrices [1280, 5120], 3 rows) AVX2 and AVX-512 both read 32–33 GB/s, the Swift loop 27; in `bench gpt`
    /// (12 layers, 3 beams) AVX2 took 31.5–32.6 ms a step, AVX-512 36.5–36.9 (docs/BENCHMARKS.md, round 7).
    static let defaultKernels: KernelSet = KernelSet.forced ?? Swift.min(.avx2, KernelSet.supported)

    /// `y[r, :] += x[r, :]·W` for a row-major `[k, n]` W (Hugging Face `Conv1D` layout), `rows` rows of x `[rows, k]`
    /// and y `[rows, n]`. Up to four rows run through the C kernels (`indextts_f32_rows_inout_*`, W read eight rows at a
    /// time), five to eight through the portable Swift loop (W read four rows at a time, once for all rows; each core
    /// owns a range of output columns), nine and more through the C kernels' register tiles (``maximumTileRows``). For
    /// 6 rows two passes of the C kernels over the weights took 31–35 ms for 24 [1280, 5120] matrices against the
    /// loop's 29–33 ms (`bench ops`, Zen 4; docs/BENCHMARKS.md round 7).
    static let kernelRows = 4
    /// Depth from which the C kernels' product is split in two halves of W's rows (see ``inOut``).
    static let depthSplit = 512
    /// Most rows of ``inOut`` on the C kernels' register tiles (`indextts_f32_rows_tiles_avx2`), which take 9 and more
    /// rows (several requests' beams decoding in one pass): on 2 Zen 3 cores, 24 [1280, 5120] matrices (a C harness,
    /// best of 4, alternating) took 54.7 / 62.9 / 82.6 ms for 12 / 16 / 24 rows against OpenBLAS's 125.5 / 60.2 / 105.7
    /// (whose SGEMM is at its worst at 12 rows, one GPT step of 4 requests × 3 beams) and 108.9 against 89.8 at 32.
    static let maximumTileRows = 24
    static func inOut(weight: UnsafePointer<Float>, k: Int, n: Int, x: UnsafePointer<Float>, rows: Int,
                      y: UnsafeMutablePointer<Float>, kernels requested: KernelSet? = nil) {
        let kernels = min(requested ?? defaultKernels, KernelSet.supported)
        let w = UncheckedSendableBox(weight), xs = UncheckedSendableBox(x), ys = UncheckedSendableBox(y)
        if kernels != .swift && rows > maximumRows {
            // Each core owns whole 16-column groups (the tiles' width) and reads their weights once for every row.
            let groups = (n + 15) / 16
            Parallel.forEachChunk(count: groups, minimumChunk: 4) { range in
                let c0 = range.lowerBound * 16, c1 = min(n, range.upperBound * 16)
                indextts_f32_rows_tiles_avx2(w.value, k, n, c0, c1, xs.value, k, rows, ys.value)
            }
            return
        }
        if kernels != .swift && rows <= kernelRows {
            let wide = kernels == .avx512
            // From `depthSplit` on, the depth is cut in two halves of W's rows, the second half summed into its own
            // rows and added to y at the end: a core then reads one contiguous half of W (k/2 whole rows) instead of a
            // column slice of every row, which on 2 Zen 3 cores read the GPT's matrices at 27–28 GB/s against 23
            // (3 rows) and a plain sum over the same bytes at 31–32 against 24–25 (docs/BENCHMARKS.md, Zen 3). The cut
            // depends on k alone, so the sums' order, and the result, do not depend on the number of cores; cores
            // beyond two split each half's columns in whole 16-column groups (the kernels' vectors): an even count
            // takes one column slice of one half each, an odd count two consecutive tasks each (so that none idles).
            // On one core the split costs a zeroed scratch of rows × n values and one pass adding it.
            let halves = k >= depthSplit ? 2 : 1
            let groups = (n + 15) / 16
            let workers = Parallel.workerCount
            let columnParts = max(1, min(halves == 1 || !workers.isMultiple(of: 2) ? workers : workers / 2, groups / 16))
            let second = halves == 2 ? UnsafeMutablePointer<Float>.allocate(capacity: rows * n) : nil
            second?.initialize(repeating: 0, count: rows * n)
            defer { second?.deallocate() }
            let partial = second.map { UncheckedSendableBox($0) }
            Parallel.forEachChunk(count: halves * columnParts, minimumChunk: 1) { tasks in
                for task in tasks {
                    let half = task / columnParts, part = task % columnParts
                    let c0 = groups * part / columnParts * 16, c1 = min(n, groups * (part + 1) / columnParts * 16)
                    guard c0 < c1 else { continue }
                    let j0 = half * (k / 2), depth = halves == 1 ? k : (half == 0 ? k / 2 : k - k / 2)
                    let target = half == 0 ? ys.value : partial!.value
                    if wide {
                        indextts_f32_rows_inout_avx512(w.value + j0 * n, depth, n, c0, c1, xs.value + j0, k, rows, target)
                    } else {
                        indextts_f32_rows_inout_avx2(w.value + j0 * n, depth, n, c0, c1, xs.value + j0, k, rows, target)
                    }
                }
            }
            if let second { addRows(second, into: y, count: rows * n) }
            return
        }
        let groups = (n + 7) / 8
        Parallel.forEachChunk(count: groups, minimumChunk: 64) { groupRange in
            let c0 = groupRange.lowerBound * 8, c1 = min(n, groupRange.upperBound * 8)
            let full = c0 + (c1 - c0) / 8 * 8
            let weight = w.value, x = xs.value, y = ys.value
            // x[r, kk..<kk+4] broadcast, per row: each weight vector is loaded once for all rows.
            let coefficients = UnsafeMutablePointer<SIMD8<Float>>.allocate(capacity: 4 * rows)
            defer { coefficients.deallocate() }
            var kk = 0
            while kk + 4 <= k {
                let w0 = weight + kk * n, w1 = w0 + n, w2 = w1 + n, w3 = w2 + n
                for r in 0..<rows {
                    for t in 0..<4 { coefficients[4 * r + t] = SIMD8<Float>(repeating: x[r * k + kk + t]) }
                }
                var c = c0
                while c < full {
                    let v0 = UnsafeRawPointer(w0 + c).loadUnaligned(as: SIMD8<Float>.self)
                    let v1 = UnsafeRawPointer(w1 + c).loadUnaligned(as: SIMD8<Float>.self)
                    let v2 = UnsafeRawPointer(w2 + c).loadUnaligned(as: SIMD8<Float>.self)
                    let v3 = UnsafeRawPointer(w3 + c).loadUnaligned(as: SIMD8<Float>.self)
                    for r in 0..<rows {
                        let yr = UnsafeMutableRawPointer(y + r * n + c)
                        var acc = yr.loadUnaligned(as: SIMD8<Float>.self)
                        let a = coefficients + 4 * r
                        acc.addProduct(a[0], v0)
                        acc.addProduct(a[1], v1)
                        acc.addProduct(a[2], v2)
                        acc.addProduct(a[3], v3)
                        yr.storeBytes(of: acc, as: SIMD8<Float>.self)
                    }
                    c += 8
                }
                for r in 0..<rows {
                    let xr = x + r * k + kk
                    for c in full..<c1 { y[r * n + c] += xr[0] * w0[c] + xr[1] * w1[c] + xr[2] * w2[c] + xr[3] * w3[c] }
                }
                kk += 4
            }
            while kk < k {
                let w0 = weight + kk * n
                for r in 0..<rows {
                    let s = x[r * k + kk]
                    for c in c0..<c1 { y[r * n + c] += s * w0[c] }
                }
                kk += 1
            }
        }
    }

    /// y[i] += source[i] for `count` values.
    private static func addRows(_ source: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        while i + 8 <= count {
            let sum = UnsafeRawPointer(y + i).loadUnaligned(as: SIMD8<Float>.self)
                + UnsafeRawPointer(source + i).loadUnaligned(as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(y + i).storeBytes(of: sum, as: SIMD8<Float>.self)
            i += 8
        }
        while i < count {
            y[i] += source[i]
            i += 1
        }
    }

    /// `y[r, o] += W[o, :]·x[r, :]` for a row-major `[n, k]` W (`torch.nn.Linear` layout): each core owns a range of
    /// output features and reads each weight row once, dotting it with every x row. Up to ``kernelRows`` rows run
    /// through the C kernels (`indextts_f32_rows_outin_*`: two chains of vectors per row), more through the portable
    /// Swift loop. IndexTTS2's mel head ([8194, 1280], 3 beams a step) is the hot caller.
    static func outIn(weight: UnsafePointer<Float>, k: Int, n: Int, x: UnsafePointer<Float>, rows: Int,
                      y: UnsafeMutablePointer<Float>, kernels requested: KernelSet? = nil) {
        let w = UncheckedSendableBox(weight), xs = UncheckedSendableBox(x), ys = UncheckedSendableBox(y)
        let kernels = min(requested ?? defaultKernels, KernelSet.supported)
        if kernels != .swift && rows <= kernelRows {
            let wide = kernels == .avx512
            Parallel.forEachChunk(count: n, minimumChunk: 16) { outputs in
                if wide {
                    indextts_f32_rows_outin_avx512(w.value, k, n, outputs.lowerBound, outputs.upperBound, xs.value, rows, ys.value)
                } else {
                    indextts_f32_rows_outin_avx2(w.value, k, n, outputs.lowerBound, outputs.upperBound, xs.value, rows, ys.value)
                }
            }
            return
        }
        let full = k / 8 * 8
        Parallel.forEachChunk(count: n, minimumChunk: 16) { outputs in
            let weight = w.value, x = xs.value, y = ys.value
            var partial = [SIMD8<Float>](repeating: .zero, count: rows)
            for o in outputs {
                let row = weight + o * k
                for r in 0..<rows { partial[r] = .zero }
                var j = 0
                while j < full {
                    let wv = UnsafeRawPointer(row + j).loadUnaligned(as: SIMD8<Float>.self)
                    for r in 0..<rows {
                        partial[r].addProduct(wv, UnsafeRawPointer(x + r * k + j).loadUnaligned(as: SIMD8<Float>.self))
                    }
                    j += 8
                }
                for r in 0..<rows {
                    var sum = partial[r].sum()
                    for t in full..<k { sum += row[t] * x[r * k + t] }
                    y[r * n + o] += sum
                }
            }
        }
    }
}
