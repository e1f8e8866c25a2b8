import CIndexTTSKernels

extension VectorMath {
    /// The kernel set of ``gatedTanhSigmoid(_:_:gateA:gateB:into:count:)``: ``KernelSet/forced`` or the best the CPU
    /// supports (AVX-512, else the SIMD8 Swift loop).
    static let gateKernels: KernelSet = KernelSet.forced ?? KernelSet.supported

    /// The WaveNet gate over `count` values: `dst[i] = tanh(a[i] + gateA) · σ(b[i] + gateB)`, with ``tanh(_:)``'s and
    /// ``sigmoid(_:)``'s formulas — on the AVX-512 kernel (`indextts_gate_tanh_sigmoid_avx512`, 16 lanes, FMA: within a
    /// few fp32 ulps of the SIMD8 loop) where ``gateKernels`` allows.
    public static func gatedTanhSigmoid(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, gateA: Float, gateB: Float,
                                        into dst: UnsafeMutablePointer<Float>, count: Int) {
        gatedTanhSigmoid(a, b, gateA: gateA, gateB: gateB, into: dst, count: count, kernels: gateKernels)
    }

    /// ``gatedTanhSigmoid(_:_:gateA:gateB:into:count:)`` with a gate per value: `dst[i] = tanh(a[i] + gateA[i]) ·
    /// σ(b[i] + gateB[i])` (a time-major row with one gate per channel).
    public static func gatedTanhSigmoid(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, gatesA: UnsafePointer<Float>,
                                        gatesB: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>, count: Int) {
        gatedTanhSigmoid(a, b, gatesA: gatesA, gatesB: gatesB, into: dst, count: count, kernels: gateKernels)
    }

    static func gatedTanhSigmoid(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, gatesA: UnsafePointer<Float>,
                                 gatesB: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>, count: Int,
                                 kernels: KernelSet) {
        if kernels == .avx512 {
            indextts_gate_rows_tanh_sigmoid_avx512(a, b, gatesA, gatesB, dst, count)
            return
        }
        var t = 0
        while t < count {
            let n = min(8, count - t)
            var u = V(repeating: 0), v = V(repeating: 0)
            for l in 0..<n {
                u[l] = a[t + l] + gatesA[t + l]
                v[l] = b[t + l] + gatesB[t + l]
            }
            let r = tanh(u) * sigmoid(v)
            for l in 0..<n { dst[t + l] = r[l] }
            t += 8
        }
    }

    static func gatedTanhSigmoid(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, gateA: Float, gateB: Float,
                                 into dst: UnsafeMutablePointer<Float>, count: Int, kernels: KernelSet) {
        if kernels == .avx512 {
            indextts_gate_tanh_sigmoid_avx512(a, b, gateA, gateB, dst, count)
            return
        }
        let ga = V(repeating: gateA), gb = V(repeating: gateB)
        var t = 0
        while t < count {
            let n = min(8, count - t)
            var u = V(repeating: 0), v = V(repeating: 0)
            if n == 8 {
                u = UnsafeRawPointer(a + t).loadUnaligned(as: V.self)
                v = UnsafeRawPointer(b + t).loadUnaligned(as: V.self)
            } else {
                for l in 0..<n { u[l] = a[t + l]; v[l] = b[t + l] }
            }
            let r = tanh(u + ga) * sigmoid(v + gb)
            if n == 8 {
                UnsafeMutableRawPointer(dst + t).storeBytes(of: r, as: V.self)
            } else {
                for l in 0..<n { dst[t + l] = r[l] }
            }
            t += 8
        }
    }
}
