import Foundation
@testable import IndexTTSModels
import IndexTTSTensor
import IndexTTSTestSupport
import IndexTTSWeights
import Testing

/// The S2M stage against the modules IndexTTS2 runs (tools/fixtures/generate_s2m.py: upstream `MyModel` → CFM / DiT /
/// WaveNet / InterpolateRegulator in eval mode, tiny random model saved as `s2mel.pth` with its `config.yaml`).
struct S2MTests {
    static let io = try! WeightStore.open(path: Fixtures.path("models/s2m_io.safetensors"))
    /// The fixture's config.yaml also names its smaller gpt_layer (`gpt_layer_widths: [20, 8, 6, 12]`).
    static let configuration = try! S2MConfiguration.load(configYAML: Fixtures.path("models/s2m/config.yaml"))
    static let model = try! S2M.load(checkpoint: Fixtures.path("models/s2m/s2mel.pth"), configuration: configuration)
    /// The same with each block's SwiGLU gate and up stacked into one product and the WaveNet head's convolutions as
    /// Winograd F(4, 5) (what `converted(to: .float32)` runs, whatever `INDEXTTS_WINOGRAD` says).
    static let convertedFlow = FlowMatching(estimator: try! model.flow.estimator.stackedFeedForward().winograd())

    static func flow(converted: Bool) -> FlowMatching { converted ? convertedFlow : model.flow }

    /// Worst |a − e| and worst |a − e| / max(|e|, 1e-3), printed for the record.
    static func report(_ label: String, _ actual: Tensor, _ expected: Tensor) {
        let a = actual.scalars, e = expected.scalars
        guard a.count == e.count else { return }
        var abs: Float = 0, rel: Float = 0
        for i in a.indices {
            let d = Swift.abs(a[i] - e[i])
            abs = max(abs, d)
            rel = max(rel, d / max(Swift.abs(e[i]), 1e-3))
        }
        print("S2M parity \(label): max abs \(abs), max rel \(rel)")
    }

    static let stepTolerance = Tolerance(rtol: 1e-4, atol: 1e-5)
    static let runTolerance = Tolerance(rtol: 1e-3, atol: 1e-4)

    @Test func configurationReadsTheS2melSection() throws {
        let c = Self.configuration
        #expect(c.dit.depth == 5 && c.dit.hiddenDim == 16 && c.dit.numHeads == 2 && c.dit.inChannels == 4)
        #expect(c.wavenet.numLayers == 3 && c.wavenet.dilationRate == 2 && c.styleDim == 6)
        #expect(c.lengthRegulator.samplingRatios.count == 2 && c.lengthRegulator.inChannels == 12)
        #expect(c.dit.feedForwardDim == 256 && c.gptLayerWidths == [20, 8, 6, 12])
        // IndexTTS2's defaults: 13 layers of 512 with SwiGLU 1536.
        #expect(S2MConfiguration().dit.feedForwardDim == 1536)
        let round = try JSONDecoder().decode(S2MConfiguration.self, from: JSONEncoder().encode(c))
        #expect(round == c)
    }

    @Test func gptLayerMatches() throws {
        let out = try Self.model.requireGPTLayer()(Self.io.tensor("gpt_latent"))
        Self.report("gpt_layer", out, try Self.io.tensor("gpt_out"))
        expectClose(out, try Self.io.tensor("gpt_out"), "gpt_layer")
    }

    @Test func lengthRegulatorMatchesPromptAndGeneratedParts() throws {
        let prompt = try Self.model.lengthRegulator(Self.io.tensor("s_ref"), frames: 37)
        Self.report("regulator prompt", prompt, try Self.io.tensor("prompt_condition"))
        expectClose(prompt, try Self.io.tensor("prompt_condition"), "prompt_condition")
        let frames = LengthRegulator.targetFrames(codes: 13)
        #expect(frames == 22)
        let cond = try Self.model.lengthRegulator(Self.io.tensor("s_infer"), frames: frames)
        Self.report("regulator cond", cond, try Self.io.tensor("cond"))
        expectClose(cond, try Self.io.tensor("cond"), "cond")
    }

    @Test func targetLengthsFollowUpstreamsProduct() throws {
        let expected = try Self.io.tensor("target_lengths").scalars
        let actual = (1...expected.count).map { Float(LengthRegulator.targetFrames(codes: $0)) }
        #expect(actual == expected)
    }

    @Test(arguments: [false, true]) func estimatorMatchesOneCall(converted: Bool) throws {
        let out = try Self.flow(converted: converted).estimator(
            x: Self.io.tensor("est_x"), promptX: Self.io.tensor("est_prompt_x"), t: Self.io.tensor("est_t").scalars,
            style: Self.io.tensor("est_style"), mu: Self.io.tensor("est_mu"))
        Self.report("estimator\(converted ? " (converted)" : "")", out, try Self.io.tensor("est_out"))
        expectClose(out, try Self.io.tensor("est_out"), tolerance: Self.stepTolerance, "estimator, converted \(converted)")
    }

    /// Every WaveNet layer of the fixture (5 taps at dilations 1, 2, 4) converts, and every block's SwiGLU stacks;
    /// the engine's fp32 model is the converted one (its head on im2col products when `INDEXTTS_WINOGRAD=off`); a
    /// converted head cannot go on to bfloat16 (its im2col weights are gone), which is refused with a typed error
    /// rather than computed wrongly.
    @Test func conversionCoversEveryLayer() throws {
        let depth = Self.configuration.dit.depth
        #expect(Self.model.flow.estimator.winogradConvolutions == (0, 3))
        #expect(Self.model.flow.estimator.stackedFeedForwards == (0, depth))
        #expect(Self.convertedFlow.estimator.winogradConvolutions == (3, 3))
        #expect(Self.convertedFlow.estimator.stackedFeedForwards == (depth, depth))
        let engine = try Self.model.converted(to: .float32)
        #expect(engine.flow.estimator.winogradConvolutions.count == (Winograd.enabledByEnvironment ? 3 : 0))
        #expect(engine.flow.estimator.stackedFeedForwards == (depth, depth))
        #expect(throws: ModelError.self) { try Self.convertedFlow.estimator.waveNet.bfloat16() }
    }

    /// Evaluating only the frames from `validFrom` on (the last layer's queries, the long skip, the WaveNet head and
    /// the final layer cut to `validFrom − headLeftReach ..< T`) gives the full evaluation's values there and zeros
    /// before, wherever `validFrom` falls: inside the head's reach of frame 0, just past it, near the end.
    @Test(arguments: [false, true]) func estimatorFromAValidFrameEqualsTheFullEvaluation(converted: Bool) throws {
        let estimator = Self.flow(converted: converted).estimator
        let x = try Self.io.tensor("est_x"), promptX = try Self.io.tensor("est_prompt_x")
        let t = try Self.io.tensor("est_t").scalars, style = try Self.io.tensor("est_style"), mu = try Self.io.tensor("est_mu")
        let full = try estimator(x: x, promptX: promptX, t: t, style: style, mu: mu)
        let time = x.shape[2], reach = estimator.headLeftReach
        #expect(reach == 14)  // the fixture's 3 WaveNet layers of kernel 5, dilations 1, 2, 4: 2 + 4 + 8
        #expect(time > reach + 4, "the fixture must be long enough to cut frames")
        for validFrom in [1, reach, reach + 1, reach + 4, time - 1] {
            let part = try estimator(x: x, promptX: promptX, t: t, style: style, mu: mu, validFrom: validFrom)
            #expect(part.shape == full.shape)
            let kept = try part.sliced(axis: 2, range: validFrom..<time).contiguous()
            expectClose(kept, try full.sliced(axis: 2, range: validFrom..<time).contiguous(),
                        tolerance: Tolerance(rtol: 1e-5, atol: 1e-6), "valid from \(validFrom)")
            #expect(try part.sliced(axis: 2, range: 0..<validFrom).contiguous().scalars.allSatisfy { $0 == 0 })
        }
        // validFrom must name a frame.
        #expect(throws: ModelError.self) {
            try estimator(x: x, promptX: promptX, t: t, style: style, mu: mu, validFrom: time)
        }
    }

    static let runs: [(label: String, steps: Int, rate: Double)] = [
        ("main", 4, 0.7), ("nocfg", 4, 0), ("one_code", 3, 0.7), ("long_prompt", 3, 0.7), ("tiny", 2, 0.7), ("odd", 5, 0.7),
    ]

    /// Each Euler step started from upstream's own state lands on upstream's next state.
    @Test(arguments: runs.map(\.label), [false, true]) func everyStepMatches(label: String, converted: Bool) throws {
        let run = Self.runs.first { $0.label == label }!
        let mu = try Self.io.tensor("\(label)_mu"), refMel = try Self.io.tensor("\(label)_ref_mel")
        let style = try Self.io.tensor("\(label)_style")
        let states = try Self.io.tensor("\(label)_steps")  // [steps, 1, mel, T]
        let out = try Self.io.tensor("\(label)_out")
        let time = mu.shape[1], promptFrames = refMel.shape[2]
        let promptX = try refMel.padded(left: 0, right: time - promptFrames)
        // Step 0 starts from the prompt-zeroed noise.
        expectClose(try FlowMatching.zeroPrompt(Self.io.tensor("\(label)_noise"), frames: promptFrames),
                    try states.selected(axis: 0, index: 0), "\(label) start")
        for (k, (t, dt)) in FlowMatching.schedule(steps: run.steps).enumerated() {
            let next = try Self.flow(converted: converted).step(
                states.selected(axis: 0, index: k), promptX: promptX, mu: mu, style: style, t: t, dt: dt,
                guidanceRate: run.rate, promptFrames: promptFrames)
            let expected = k + 1 < run.steps ? try states.selected(axis: 0, index: k + 1) : out
            Self.report("\(label) step \(k)\(converted ? " (converted)" : "")", next, expected)
            expectClose(next, expected, tolerance: Self.stepTolerance, "\(label) step \(k), converted \(converted)")
        }
    }

    /// Whole runs from the recorded start noise, the output cut after the prompt.
    @Test(arguments: runs.map(\.label), [false, true]) func wholeRunMatches(label: String, converted: Bool) throws {
        let run = Self.runs.first { $0.label == label }!
        let refMel = try Self.io.tensor("\(label)_ref_mel")
        var seen = 0
        let mel = try Self.flow(converted: converted).generate(
            mu: Self.io.tensor("\(label)_mu"), promptMel: refMel, style: Self.io.tensor("\(label)_style"), steps: run.steps,
            guidanceRate: run.rate, noise: Self.io.tensor("\(label)_noise")) { k, _ in
            #expect(k == seen)
            seen += 1
        }
        #expect(seen == run.steps)
        let out = try Self.io.tensor("\(label)_out")
        let expected = try out.sliced(axis: 2, range: refMel.shape[2]..<out.shape[2]).contiguous()
        Self.report("\(label) run\(converted ? " (converted)" : "")", mel, expected)
        expectClose(mel, expected, tolerance: Self.runTolerance, "\(label) run, converted \(converted)")
    }

    /// The estimator with bfloat16 products (``ComputePrecision``) against upstream's fp32 outputs: one call, and a
    /// whole 4-step CFG run from the recorded noise. Bounds are relative RMS differences (bfloat16 rounds every
    /// product's operands to 8 mantissa bits), and the result must differ from fp32 at all (the path ran).
    @Test(.enabled(if: ComputePrecision.bfloat16Supported, "needs a CPU with AVX512-BF16 or AMX-BF16"))
    func bfloat16EstimatorStaysCloseToUpstream() throws {
        let model = try Self.model.converted(to: .bfloat16)
        #expect(model.flow.estimator.precision == .bfloat16)
        let out = try model.flow.estimator(x: Self.io.tensor("est_x"), promptX: Self.io.tensor("est_prompt_x"),
                                           t: Self.io.tensor("est_t").scalars, style: Self.io.tensor("est_style"),
                                           mu: Self.io.tensor("est_mu"))
        let one = relativeRMSDifference(out, try Self.io.tensor("est_out"))
        print("S2M bf16 estimator: relative RMS difference \(one)")
        #expect(one < 2e-2 && one > 1e-6)
        let refMel = try Self.io.tensor("main_ref_mel")
        let mel = try model.flow.generate(mu: Self.io.tensor("main_mu"), promptMel: refMel, style: Self.io.tensor("main_style"),
                                          steps: 4, guidanceRate: 0.7, noise: Self.io.tensor("main_noise"))
        let full = try Self.io.tensor("main_out")
        let whole = relativeRMSDifference(mel, try full.sliced(axis: 2, range: refMel.shape[2]..<full.shape[2]).contiguous())
        print("S2M bf16 4-step run: relative RMS difference \(whole)")
        #expect(whole < 2e-2 && whole > 1e-6)
    }

    /// Smooth inputs for the WaveNet head alone: time-major rows `[2, frames, width]` and the global condition `[2, width]`.
    static func waveNetInputs(frames: Int) -> (x: Tensor, g: Tensor) {
        let width = configuration.wavenet.hiddenDim
        let x = Tensor.make([2, frames, width]) { out in
            for i in out.indices { out[i] = sin(Float(i) * 0.37) }
        }
        let g = Tensor.make([2, width]) { out in
            for i in out.indices { out[i] = cos(Float(i) * 0.61) }
        }
        return (x, g)
    }

    /// The WaveNet head in bfloat16 (its time-major column rows rounded straight into bf16, the zero rows of pad1d's
    /// short-input work-around included) stays close to fp32, at a length the padding reaches past (2 frames: the
    /// fixture's dilations 1, 2, 4 pad 2, 4 and 8 frames) and at a longer one; batch items stay apart.
    @Test(.enabled(if: ComputePrecision.bfloat16Supported, "needs a CPU with AVX512-BF16 or AMX-BF16"), arguments: [2, 37])
    func bfloat16WaveNetStaysCloseToFloat32(frames: Int) throws {
        let float32 = Self.model.flow.estimator.waveNet, bfloat16 = try float32.bfloat16()
        let (x, g) = Self.waveNetInputs(frames: frames)
        let expected = try float32(timeMajor: x, g: g), actual = try bfloat16(timeMajor: x, g: g)
        #expect(actual.shape == [2, frames, Self.configuration.wavenet.hiddenDim])
        let r = relativeRMSDifference(actual, expected)
        #expect(r < 2e-2 && r > 1e-6, "\(frames) frames: relative RMS \(r)")
        // The channel-major entry is the time-major one transposed.
        let channelMajor = try float32(x.transposed(1, 2).contiguous(), g: g)
        #expect(try channelMajor.transposed(1, 2).contiguous().scalars == expected.scalars)
        // Item 1 alone gives item 1's rows.
        let alone = try float32(timeMajor: x.sliced(axis: 0, range: 1..<2).contiguous(), g: g.sliced(axis: 0, range: 1..<2).contiguous())
        #expect(relativeRMSDifference(alone, try expected.sliced(axis: 0, range: 1..<2).contiguous()) < 1e-6)
    }

    /// The Winograd WaveNet head against the loaded (im2col) one in fp32, including lengths that pad1d's short-input
    /// work-around reaches (1 and 2 frames: the fixture's dilations 1, 2, 4 pad 2, 4 and 8 frames, so the frame
    /// tables hold −1 entries) and a longer one, batch 2 (items stay apart).
    @Test(arguments: [1, 2, 37]) func winogradWaveNetEqualsIm2col(frames: Int) throws {
        let im2col = Self.model.flow.estimator.waveNet, winograd = try im2col.winograd()
        #expect(winograd.winogradLayers == 3)
        let (x, g) = Self.waveNetInputs(frames: frames)
        let expected = try im2col(timeMajor: x, g: g), actual = try winograd(timeMajor: x, g: g)
        #expect(actual.shape == [2, frames, Self.configuration.wavenet.hiddenDim])
        expectClose(actual, expected, tolerance: Tolerance(rtol: 1e-5, atol: 1e-6), "\(frames) frames")
    }

    /// `bench s2m --compare-direct` on the fixture's small configuration: the converted model (Winograd head, stacked
    /// SwiGLU) runs, the loaded one (im2col, gate and up apart) runs again on the same noise, and their mels agree;
    /// without the option no second solve.
    @Test func benchmarkComparesWithTheLoadedModel() throws {
        let r = try S2MBenchmark.run(configuration: Self.configuration, promptFrames: 30, codes: 9, steps: 2, compareDirect: true,
                                     temporaryDirectory: Fixtures.temporaryDirectory())
        #expect(r.generatedFrames == LengthRegulator.targetFrames(codes: 9) && r.winogradConvolutions.total == 3)
        #expect(r.winogradConvolutions.count == (Winograd.enabledByEnvironment ? 3 : 0))
        #expect(r.stackedFeedForwards == (Self.configuration.dit.depth, Self.configuration.dit.depth))
        let reference = try #require(r.reference)
        #expect(reference.flowSeconds > 0 && reference.relativeDifference < 1e-5,
                "relative RMS difference \(reference.relativeDifference), largest \(reference.maximumDifference)")
        #expect(try S2MBenchmark.run(configuration: Self.configuration, promptFrames: 30, codes: 9, steps: 2,
                                     temporaryDirectory: Fixtures.temporaryDirectory()).reference == nil)
    }

    @Test func scheduleIsTorchLinspace() {
        let s = FlowMatching.schedule(steps: 25)
        #expect(s.count == 25 && s[0].t == 0)
        #expect(s.allSatisfy { abs($0.dt - 0.04) < 1e-6 })
        #expect(abs(s[24].t + s[24].dt - 1) < 1e-6)
        // The second half of torch.linspace counts back from the end: the last step ends exactly at 1 − step·0.
        let five = FlowMatching.schedule(steps: 5)
        #expect(five[4].dt == 1 - (1 - Float(1) / 5))
    }

    @Test func seededNoiseIsDeterministicAndStandard() {
        let a = FlowMatching.gaussianNoise([1, 4, 1001], seed: 7), b = FlowMatching.gaussianNoise([1, 4, 1001], seed: 7)
        #expect(a.scalars == b.scalars)
        #expect(a.scalars != FlowMatching.gaussianNoise([1, 4, 1001], seed: 8).scalars)
        let v = a.scalars
        let mean = v.reduce(0, +) / Float(v.count)
        let variance = v.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(v.count)
        #expect(abs(mean) < 0.06 && abs(variance - 1) < 0.08)
    }

    @Test func seededGenerationRuns() throws {
        let mu = try Self.io.tensor("main_mu"), refMel = try Self.io.tensor("main_ref_mel"), style = try Self.io.tensor("main_style")
        let a = try Self.model.flow.generate(mu: mu, promptMel: refMel, style: style, steps: 2, seed: 3)
        let b = try Self.model.flow.generate(mu: mu, promptMel: refMel, style: style, steps: 2, seed: 3)
        #expect(a.shape == [1, 4, 22] && a.scalars == b.scalars && a.scalars.allSatisfy(\.isFinite))
    }

    /// IndexTTS-2.5 builds the stage without `gpt_layer` (`S2MConfiguration.read` from `version: 2.5`): a file that
    /// carries its tensors (2.5's released `s2mel.pth` has six) loads, the rest is the same model, and the 2.0-only
    /// widths are not checked.
    @Test func indexTTS25StageHasNoGPTLayer() throws {
        var configuration = Self.configuration
        configuration.usesGPTLayer = false
        let store = try WeightStore.open(path: Fixtures.path("models/s2m/s2mel.pth"))
        #expect(store.keys.contains { $0.hasPrefix("net.gpt_layer.") })
        let model = try S2M.load(from: store, configuration: configuration)
        #expect(model.gptLayer == nil)
        #expect(throws: ModelError.self) { try model.requireGPTLayer() }
        let prompt = try model.lengthRegulator(Self.io.tensor("s_ref"), frames: 37)
        #expect(prompt.scalars == (try Self.model.lengthRegulator(Self.io.tensor("s_ref"), frames: 37)).scalars)
        // Its other keys are still checked exactly.
        try expectKeyMismatch(store, missing: "net.length_regulator.model.0.weight", unexpected: "net.extra.weight") {
            try S2M.load(from: $0, configuration: configuration)
        }
        let yaml = try String(contentsOfFile: Fixtures.path("models/s2m/config.yaml"), encoding: .utf8)
        let read25 = try S2MConfiguration.read(ConfigYAMLDocument(yaml: yaml + "\nversion: 2.5\n"))
        #expect(!read25.usesGPTLayer)
        #expect(try S2MConfiguration.read(ConfigYAMLDocument(yaml: yaml)).usesGPTLayer)
    }

    @Test func loadingChecksKeysAndShapes() throws {
        let store = try WeightStore.open(path: Fixtures.path("models/s2m/s2mel.pth"))
        #expect(store.contains("net.cfm.estimator.wavenet.in_layers.2.conv.conv.weight_v"))
        try expectKeyMismatch(store, missing: "net.cfm.estimator.transformer.layers.4.skip_in_linear.weight",
                              unexpected: "net.cfm.estimator.transformer.layers.5.attention.wo.weight") {
            try S2M.load(from: $0, configuration: Self.configuration)
        }
        try expectKeyMismatch(store, missing: "net.gpt_layer.2.bias", unexpected: "net.length_regulator.model.9.weight") {
            try S2M.load(from: $0, configuration: Self.configuration)
        }
        // IndexTTS2's full sizes do not fit the tiny checkpoint: misshapen tensors are named, not trapped on.
        var wrong = Self.configuration
        wrong.dit.numHeads = 4
        wrong.wavenet.numLayers = 2
        do {
            _ = try S2M.load(from: store, configuration: wrong)
            Issue.record("a checkpoint with 3 WaveNet layers loaded as 2")
        } catch let WeightsError.keyMismatch(_, missing, unexpected, wrongShapes) {
            #expect(missing.isEmpty)
            #expect(unexpected.contains("net.cfm.estimator.wavenet.in_layers.2.conv.conv.weight_v"))
            #expect(wrongShapes.contains { $0.contains("res_skip_layers.1") })
        }
    }

    @Test func badInputsAreTypedErrors() throws {
        let m = Self.model
        let mu = try Self.io.tensor("main_mu"), refMel = try Self.io.tensor("main_ref_mel"), style = try Self.io.tensor("main_style")
        // Mismatched dims.
        #expect(throws: ModelError.self) { try m.requireGPTLayer()(Tensor.zeros([1, 3, 19])) }
        #expect(throws: ModelError.self) { try m.lengthRegulator(Tensor.zeros([1, 3, 11]), frames: 5) }
        #expect(throws: ModelError.self) { try m.flow.generate(mu: Tensor.zeros([1, 59, 15]), promptMel: refMel, style: style, steps: 1) }
        #expect(throws: ModelError.self) { try m.flow.generate(mu: mu, promptMel: Tensor.zeros([1, 5, 37]), style: style, steps: 1) }
        #expect(throws: ModelError.self) { try m.flow.generate(mu: mu, promptMel: refMel, style: Tensor.zeros([1, 7]), steps: 1) }
        #expect(throws: ModelError.self) {
            try m.flow.generate(mu: mu, promptMel: refMel, style: style, steps: 1, noise: Tensor.zeros([1, 4, 58]))
        }
        #expect(throws: ModelError.self) {
            try m.flow.estimator(x: Tensor.zeros([2, 4, 5]), promptX: Tensor.zeros([2, 4, 5]), t: [0], style: Tensor.zeros([2, 6]),
                                 mu: Tensor.zeros([2, 5, 16]))
        }
        // Zero lengths.
        #expect(throws: ModelError.self) { try m.requireGPTLayer()(Tensor.zeros([1, 0, 20])) }
        #expect(throws: ModelError.self) { try m.lengthRegulator(Tensor.zeros([1, 0, 12]), frames: 5) }
        #expect(throws: ModelError.self) { try m.lengthRegulator(Tensor.zeros([1, 3, 12]), frames: 0) }
        #expect(throws: ModelError.self) {  // prompt as long as the condition: nothing to generate
            try m.flow.generate(mu: mu.sliced(axis: 1, range: 0..<37), promptMel: refMel, style: style, steps: 1)
        }
        #expect(throws: ModelError.self) { try m.flow.generate(mu: mu, promptMel: refMel, style: style, steps: 0) }
        #expect(throws: ModelError.self) { try m.flow.generate(mu: mu, promptMel: refMel, style: style, guidanceRate: -1) }
        // NaN in the condition.
        var values = mu.scalars
        values[100] = .nan
        let nanMu = try Tensor(shape: mu.shape, scalars: values)
        #expect(throws: ModelError.self) { try m.flow.generate(mu: nanMu, promptMel: refMel, style: style, steps: 1) }
        var content = [Float](repeating: 0, count: 36)
        content[7] = .infinity
        #expect(throws: ModelError.self) { try m.lengthRegulator(Tensor(shape: [1, 3, 12], scalars: content), frames: 5) }
    }

    @Test func unsupportedVariantsAreNamed() throws {
        var c = S2MConfiguration()
        c.dit.finalLayerType = "mlp"
        #expect(throws: ModelError.self) { try c.validate() }
        c = S2MConfiguration()
        c.dit.hiddenDim = 500
        #expect(throws: ModelError.self) { try c.validate() }
        c = S2MConfiguration()
        c.wavenet.hiddenDim = 256
        #expect(throws: ModelError.self) { try c.validate() }
        #expect(throws: ModelError.self) {
            try S2MConfiguration.parse(yaml: "s2mel:\n  DiT:\n    depth: zero\n", source: "c.yaml")
        }
        #expect(throws: ModelError.invalidConfiguration(file: "c.yaml", field: "s2mel", reason: "missing section")) {
            try S2MConfiguration.parse(yaml: "gpt:\n  layers: 2\n", source: "c.yaml")
        }
        // A kernel of 1 spans one frame whatever the dilation: the dilation itself must not overflow.
        c = S2MConfiguration()
        c.wavenet.kernelSize = 1
        c.wavenet.dilationRate = 65_536
        c.wavenet.numLayers = 8
        #expect(throws: ModelError.invalidConfiguration(file: "config.yaml", field: "s2mel.wavenet.dilation_rate",
                                                        reason: "dilation grows beyond 65536")) { try c.validate() }
        // IndexTTS2's real section (as shipped) parses to the defaults.
        let shipped = """
            s2mel:
                preprocess_params: {sr: 22050, spect_params: {n_fft: 1024, win_length: 1024, hop_length: 256, n_mels: 80, fmin: 0, fmax: "None"}}
                dit_type: "DiT"
                reg_loss_type: "l1"
                style_encoder: {dim: 192}
                length_regulator: {channels: 512, is_discrete: false, in_channels: 1024, content_codebook_size: 2048, sampling_ratios: [1, 1, 1, 1], vector_quantize: false, n_codebooks: 1, quantizer_dropout: 0.0, f0_condition: false, n_f0_bins: 512}
                DiT: {hidden_dim: 512, num_heads: 8, depth: 13, class_dropout_prob: 0.1, block_size: 8192, in_channels: 80, style_condition: true, final_layer_type: "wavenet", target: "mel", content_dim: 512, content_codebook_size: 1024, content_type: "discrete", f0_condition: false, n_f0_bins: 512, content_codebooks: 1, is_causal: false, long_skip_connection: true, zero_prompt_speech_token: false, time_as_token: false, style_as_token: false, uvit_skip_connection: true, add_resblock_in_transformer: false}
                wavenet: {hidden_dim: 512, num_layers: 8, kernel_size: 5, dilation_rate: 1, p_dropout: 0.2, style_condition: true}
            """
        #expect(try S2MConfiguration.parse(yaml: shipped) == S2MConfiguration())
    }
}
