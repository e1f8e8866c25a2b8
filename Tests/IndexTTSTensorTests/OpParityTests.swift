import Foundation
import IndexTTSTensor
import IndexTTSTestSupport
import IndexTTSWeights
import Testing

/// Every compute-core op against PyTorch on the committed fixture (tools/fixtures/generate_ops.py).
struct OpParityTests {
    struct Case {
        let name: String
        let op: String
        let inputs: [String: String]
        let output: String
        let params: [String: Any]
    }

    static let store: WeightStore = try! WeightStore.open(path: Fixtures.path("ops/ops.safetensors"))
    nonisolated(unsafe) static let cases: [String: Case] = {
        let data = try! Data(contentsOf: URL(fileURLWithPath: Fixtures.path("ops/ops.json")))
        let root = try! JSONSerialization.jsonObject(with: data) as! [String: Any]
        var result: [String: Case] = [:]
        for item in root["cases"] as! [[String: Any]] {
            let c = Case(name: item["name"] as! String, op: item["op"] as! String,
                         inputs: item["inputs"] as! [String: String], output: item["output"] as! String,
                         params: item["params"] as! [String: Any])
            result[c.name] = c
        }
        return result
    }()
    static let caseNames: [String] = cases.keys.sorted()

    @Test func fixtureCoversEveryOp() {
        let ops = Set(Self.cases.values.map(\.op))
        for op in ["matmul", "linear", "conv1d", "conv2d", "conv_transpose1d", "layer_norm", "rms_norm", "group_norm",
                   "batch_norm", "softmax", "log_softmax", "gelu", "gelu_tanh", "silu", "mish", "relu", "sigmoid", "tanh",
                   "glu", "snake", "snake_beta", "embedding", "interpolate_nearest", "concat", "permute", "sdpa", "rope",
                   "weight_norm"] {
            #expect(ops.contains(op), "no fixture case for \(op)")
        }
    }

    @Test(arguments: caseNames)
    func matchesPyTorch(_ name: String) throws {
        let c = Self.cases[name]!
        func input(_ key: String) throws -> Tensor { try Self.store.tensor(c.inputs[key]!) }
        func optionalInput(_ key: String) throws -> Tensor? { try c.inputs[key].map { try Self.store.tensor($0) } }
        func int(_ key: String, _ fallback: Int = 0) -> Int { (c.params[key] as? NSNumber)?.intValue ?? fallback }
        func float(_ key: String) -> Float? { (c.params[key] as? NSNumber)?.floatValue }
        func pair(_ key: String) -> (Int, Int) {
            let v = (c.params[key] as! [NSNumber]).map(\.intValue)
            return (v[0], v[1])
        }
        let expected = try Self.store.tensor(c.output)
        let actual: Tensor
        var tolerance = Tolerance.fp32
        switch c.op {
        case "matmul":
            let b = try input("b")
            actual = try input("a").matmul(c.params["transpose_b"] != nil ? b.transposed(0, 1) : b)
        case "linear":
            let layout: Tensor.WeightLayout = (c.params["layout"] as? String) == "inOut" ? .inOut : .outIn
            actual = try input("x").linear(weight: input("weight"), bias: optionalInput("bias"), layout: layout)
        case "conv1d":
            actual = try input("x").conv1d(
                weight: input("weight"), bias: optionalInput("bias"), stride: int("stride"), padding: int("padding"),
                dilation: int("dilation"), groups: int("groups"),
                paddingMode: Tensor.PaddingMode(rawValue: c.params["padding_mode"] as! String)!)
        case "conv2d":
            actual = try input("x").conv2d(weight: input("weight"), bias: optionalInput("bias"), stride: pair("stride"),
                                           padding: pair("padding"), dilation: pair("dilation"), groups: int("groups"))
        case "conv_transpose1d":
            actual = try input("x").convTranspose1d(
                weight: input("weight"), bias: optionalInput("bias"), stride: int("stride"), padding: int("padding"),
                outputPadding: int("output_padding"), dilation: int("dilation"), groups: int("groups"))
        case "layer_norm":
            actual = try input("x").layerNorm(weight: optionalInput("weight"), bias: optionalInput("bias"),
                                              eps: float("eps")!, normalizedAxes: int("axes"))
        case "rms_norm":
            actual = try input("x").rmsNorm(weight: input("weight"), eps: float("eps")!)
        case "group_norm":
            actual = try input("x").groupNorm(groups: int("groups"), weight: input("weight"), bias: input("bias"),
                                              eps: float("eps")!)
        case "batch_norm":
            actual = try input("x").batchNorm(runningMean: input("running_mean"), runningVariance: input("running_var"),
                                              weight: input("weight"), bias: input("bias"), eps: float("eps")!)
        case "softmax": actual = try input("x").softmax(axis: int("axis"))
        case "log_softmax": actual = try input("x").logSoftmax(axis: int("axis"))
        case "gelu": actual = try input("x").gelu()
        case "gelu_tanh": actual = try input("x").gelu(approximation: .tanh)
        case "silu": actual = try input("x").silu()
        case "mish": actual = try input("x").mish()
        case "relu": actual = try input("x").relu()
        case "sigmoid": actual = try input("x").sigmoid()
        case "tanh": actual = try input("x").tanh()
        case "exp": actual = try input("x").exp()
        case "glu": actual = try input("x").glu(axis: int("axis"))
        case "snake":
            actual = try input("x").snake(alpha: input("alpha"), logScale: c.params["log_scale"] as! Bool)
        case "snake_beta":
            actual = try input("x").snakeBeta(alpha: input("alpha"), beta: input("beta"), logScale: c.params["log_scale"] as! Bool)
        case "add": actual = try input("a").adding(input("b"))
        case "mul": actual = try input("a").multiplying(input("b"))
        case "div": actual = try input("a").dividing(input("b"))
        case "embedding":
            actual = try Tensor.embedding(input("table"), ids: (c.params["ids"] as! [NSNumber]).map(\.intValue))
        case "interpolate_nearest":
            actual = try input("x").interpolateNearest(size: int("size"), scaleFactor: float("scale_factor"))
        case "concat":
            actual = try Tensor.concatenate([input("a"), input("b"), input("c")], axis: int("axis"))
        case "permute":
            actual = try input("x").permuted((c.params["order"] as! [NSNumber]).map(\.intValue)).contiguous()
        case "sum": actual = try input("x").sum(axis: int("axis"))
        case "sdpa":
            let mask = AttentionMask(isCausal: c.params["causal"] as? Bool ?? false,
                                     keyLengths: (c.params["key_lengths"] as? [NSNumber])?.map(\.intValue),
                                     additive: try optionalInput("mask"))
            actual = try Tensor.scaledDotProductAttention(query: input("q"), key: input("k"), value: input("v"),
                                                          mask: mask, scale: float("scale"))
        case "rope":
            let rope = RotaryEmbedding(dimensions: int("dim"), base: float("base")!,
                                       style: RotaryEmbedding.PairStyle(rawValue: c.params["style"] as! String)!)
            actual = try rope.apply(input("x"), positions: (c.params["positions"] as! [NSNumber]).map(\.intValue))
        case "weight_norm":
            actual = try Tensor.weightNorm(g: input("g"), v: input("v"))
        default:
            Issue.record("fixture op \(c.op) has no Swift counterpart in this test")
            return
        }
        if c.op == "exp" || c.op == "mish" || c.op == "gelu" {
            // Transcendentals: a few ulp; values span 1e-39…1e38, so relative error dominates.
            tolerance = Tolerance(rtol: 2e-5, atol: 1e-6)
        }
        expectClose(actual, expected, tolerance: tolerance, name)
    }
}
