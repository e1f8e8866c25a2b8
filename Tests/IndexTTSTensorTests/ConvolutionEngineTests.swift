import CIndexTTSDNNL
@testable import IndexTTSTensor
import IndexTTSTestSupport
import Testing

/// 1-D convolution on both engines — oneDNN's direct convolution (the default where oneDNN works) and im2col +
/// SGEMM — against a Double loop: batches, strides, dilations, reflect padding, with and without bias, an input
/// exactly one kernel span long, grouped and depthwise convolutions (always the im2col/direct kernels).
struct ConvolutionEngineTests {
    func random(_ shape: [Int], seed: UInt64) -> Tensor { TestRandom.tensor(shape, seed: seed) }

    static let cases: [(batch: Int, inC: Int, outC: Int, kernel: Int, stride: Int, dilation: Int, padding: Int,
                        time: Int, groups: Int, reflect: Bool, bias: Bool)] = [
        (1, 16, 24, 3, 1, 1, 1, 50, 1, false, true),
        (2, 5, 7, 7, 1, 3, 9, 40, 1, true, true),
        (1, 24, 24, 11, 1, 5, 25, 61, 1, false, false),
        (2, 3, 4, 4, 2, 1, 0, 33, 1, false, true),
        (1, 8, 6, 5, 3, 2, 2, 29, 1, true, false),
        (1, 4, 3, 3, 1, 2, 0, 5, 1, false, true),  // exactly one span
        (2, 6, 4, 3, 1, 1, 1, 20, 2, false, true),  // grouped
        (1, 6, 6, 5, 1, 1, 2, 20, 6, false, true),  // depthwise
    ]

    @Test(arguments: Array(cases.indices))
    func bothEnginesMatchALoop(_ index: Int) throws {
        let c = Self.cases[index]
        let x = random([c.batch, c.inC, c.time], seed: UInt64(index + 1))
        let w = random([c.outC, c.inC / c.groups, c.kernel], seed: UInt64(index + 50))
        let b = c.bias ? random([c.outC], seed: UInt64(index + 99)) : nil
        let mode: Tensor.PaddingMode = c.reflect ? .reflect : .zeros
        let padded = try x.padded(left: c.padding, right: c.padding, mode: mode).contiguous()
        let paddedTime = padded.shape[2], span = c.dilation * (c.kernel - 1) + 1
        let outTime = (paddedTime - span) / c.stride + 1
        let (xs, ws, bs) = (padded.scalars, w.scalars, b?.scalars)
        let (inPer, outPer) = (c.inC / c.groups, c.outC / c.groups)
        var expected = [Double](repeating: 0, count: c.batch * c.outC * outTime), magnitude = expected
        for n in 0..<c.batch {
            for o in 0..<c.outC {
                let g = o / outPer
                for t in 0..<outTime {
                    var sum = Double(bs?[o] ?? 0), size = abs(sum)
                    for i in 0..<inPer {
                        for j in 0..<c.kernel {
                            let product = Double(ws[(o * inPer + i) * c.kernel + j])
                                * Double(xs[(n * c.inC + g * inPer + i) * paddedTime + t * c.stride + j * c.dilation])
                            sum += product
                            size += abs(product)
                        }
                    }
                    expected[(n * c.outC + o) * outTime + t] = sum
                    magnitude[(n * c.outC + o) * outTime + t] = size
                }
            }
        }
        for oneDNN in [false, true] {
            let y = try x.conv1d(weight: w, bias: b, stride: c.stride, padding: c.padding, dilation: c.dilation,
                                 groups: c.groups, paddingMode: mode, bfloat16Weight: nil, oneDNN: oneDNN)
            #expect(y.shape == [c.batch, c.outC, outTime])
            let ys = y.scalars
            for k in ys.indices {
                #expect(abs(Double(ys[k]) - expected[k]) <= 1e-6 * magnitude[k] + 1e-6,
                        "case \(index) oneDNN \(oneDNN) element \(k): \(ys[k]) vs \(expected[k])")
            }
        }
    }

    @Test func oneDNNIsTheDefaultWhereItWorks() {
        #expect(Tensor.oneDNNConvolution == (indextts_dnnl_available() != 0))
    }
}
