import Dispatch
import Foundation
import IndexTTSTensor
import IndexTTSWeights

/// Timings behind `indextts bench gpt`: the UnifiedVoice GPT-2 core at full size with random weights (written to
/// a temporary safetensors file and loaded through the normal path): prefill, then cached decoding of one sequence
/// and of `beams` sequences (IndexTTS2 decodes 3 beams), each compared with the time the machine needs just to read
/// the projection weights once at its measured read bandwidth; and IndexTTS2's latent pass over `latentCodes` codes
/// after a prompt of `prefill` positions, whole and after the cached prompt (``UnifiedVoice/latents(conditioning:emotionVector:textIDs:codes:promptCache:)``).
public enum GPT2Benchmark {
    public static func run(configuration: GPT2Configuration = GPT2Configuration(), prefill: Int = 128, steps: Int = 100,
                           beams: Int = 3, requests: Int = 4, latentCodes: Int = 250, halfPrecision: Bool = false,
                           temporaryDirectory: URL = FileManager.default.temporaryDirectory) throws -> [OpsBenchmark.Measurement] {
        let d = configuration.modelDimension
        var tensors: [String: Tensor] = [:]
        var seed: UInt64 = 0x5EED
        func random(_ shape: [Int], scale: Float) -> Tensor {
            Tensor.make(shape) { out in
                for i in out.indices {
                    seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17
                    out[i] = (Float(seed >> 40) / Float(1 << 24) - 0.5) * 2 * scale
                }
            }
        }
        let scale = 1 / Float(d).squareRoot()
        for l in 0..<configuration.layers {
            let p = "gpt.h.\(l)."
            tensors[p + "ln_1.weight"] = Tensor.full([d], value: 1)
            tensors[p + "ln_1.bias"] = Tensor.zeros([d])
            tensors[p + "ln_2.weight"] = Tensor.full([d], value: 1)
            tensors[p + "ln_2.bias"] = Tensor.zeros([d])
            tensors[p + "attn.c_attn.weight"] = random([d, 3 * d], scale: scale)
            tensors[p + "attn.c_attn.bias"] = Tensor.zeros([3 * d])
            tensors[p + "attn.c_proj.weight"] = random([d, d], scale: scale)
            tensors[p + "attn.c_proj.bias"] = Tensor.zeros([d])
            tensors[p + "mlp.c_fc.weight"] = random([d, 4 * d], scale: scale)
            tensors[p + "mlp.c_fc.bias"] = Tensor.zeros([4 * d])
            tensors[p + "mlp.c_proj.weight"] = random([4 * d, d], scale: scale / 2)
            tensors[p + "mlp.c_proj.bias"] = Tensor.zeros([d])
        }
        tensors["gpt.ln_f.weight"] = Tensor.full([d], value: 1)
        tensors["gpt.ln_f.bias"] = Tensor.zeros([d])
        let path = temporaryDirectory.appendingPathComponent("indextts-bench-gpt-\(getpid()).safetensors").path
        try SafeTensorsWriter.write(tensors, to: path)
        defer { try? FileManager.default.removeItem(atPath: path) }
        tensors = [:]
        var model = try GPT2Model.load(from: WeightStore.open(path: path), configuration: configuration)
        if halfPrecision { model = try model.halfPrecision() }
        let weightBytes = Double(model.projectionWeightBytes)

        let state = model.makeState(batch: 1, capacity: prefill + steps + 1)
        let prompt = random([1, prefill, d], scale: 1)
        let step = random([1, 1, d], scale: 1)
        // Best of three prefills on fresh states (the first also warms the mapped weights and fresh buffers).
        var fresh = (0..<3).map { _ in model.makeState(batch: 1, capacity: prefill) }
        let prefillSeconds = try OpsBenchmark.bestTime(2) { _ = try model(prompt, state: fresh.removeLast()) }
        _ = try model(prompt, state: state)
        let beamState = try state.broadcast(toBatch: beams)
        let requestStates = try (0..<requests).map { _ in try state.broadcast(toBatch: beams) }
        let sharedStates = try (0..<requests).map { _ in try state.broadcast(toBatch: beams) }
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<steps { _ = try model(step, state: state) }
        let decodeSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 / Double(steps)
        let beamStep = random([beams, 1, d], scale: 1)
        let beamStart = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<steps { _ = try model(beamStep, state: beamState) }
        let beamSeconds = Double(DispatchTime.now().uptimeNanoseconds - beamStart) / 1e9 / Double(steps)
        // `requests` requests of `beams` rows each: one step each in turn, then all in one pass (DecodeStepBatcher).
        let separateStart = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<steps { for s in requestStates { _ = try model(beamStep, state: s) } }
        let separateSeconds = Double(DispatchTime.now().uptimeNanoseconds - separateStart) / 1e9 / Double(steps)
        let sharedStep = random([requests * beams, 1, d], scale: 1)
        let sharedStart = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<steps { _ = try model(sharedStep, states: sharedStates) }
        let sharedSeconds = Double(DispatchTime.now().uptimeNanoseconds - sharedStart) / 1e9 / Double(steps)
        // The latent pass: prompt + codes + 2 markers on a fresh state, against the codes after the cached prompt (a
        // fresh state holding only the prompt, filled outside the timing, as generation leaves it for beams);
        // alternating, best of 2.
        let whole = random([1, prefill + latentCodes + 2, d], scale: 1)
        let codesAfterPrompt = try whole.sliced(axis: 1, range: prefill..<(prefill + latentCodes))
        func seconds(_ body: () throws -> Void) rethrows -> Double {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
        var wholeSeconds = Double.infinity, continuedSeconds = Double.infinity
        for _ in 0..<2 {
            let fresh = model.makeState(batch: 1, capacity: prefill + latentCodes + 2)
            wholeSeconds = min(wholeSeconds, try seconds { _ = try model(whole, state: fresh) })
            let promptState = model.makeState(batch: 1, capacity: prefill + latentCodes)
            _ = try model(whole.sliced(axis: 1, range: 0..<prefill), state: promptState)
            continuedSeconds = min(continuedSeconds, try seconds { _ = try model(codesAfterPrompt, state: promptState) })
        }
        let bandwidth = OpsBenchmark.readBandwidth()
        let boundSeconds = weightBytes / (bandwidth.rate * 1e9)
        let label = "\(configuration.layers)×\(d), \(configuration.heads) heads, \(halfPrecision ? "fp16" : "fp32") weights"
        func versusBound(_ seconds: Double) -> String {
            String(format: "%.1f GB/s of projection weights, %.2f× the read-bandwidth bound", weightBytes / seconds / 1e9,
                   seconds / boundSeconds)
        }
        return [
            OpsBenchmark.Measurement(name: "GPT-2 core prefill \(prefill) positions (\(label))", seconds: prefillSeconds,
                                     rate: Double(prefill) / prefillSeconds, unit: "positions/s", detail: ""),
            OpsBenchmark.Measurement(name: "GPT-2 core cached decode step, 1 sequence, context \(prefill)–\(prefill + steps)",
                                     seconds: decodeSeconds, rate: 1 / decodeSeconds, unit: "tokens/s",
                                     detail: versusBound(decodeSeconds)),
            OpsBenchmark.Measurement(name: "GPT-2 core cached decode step, \(beams) beams, context \(prefill)–\(prefill + steps)",
                                     seconds: beamSeconds, rate: 1 / beamSeconds, unit: "steps/s",
                                     detail: versusBound(beamSeconds)),
            OpsBenchmark.Measurement(name: "GPT-2 core, \(requests) requests × \(beams) beams, one step each in turn",
                                     seconds: separateSeconds, rate: Double(requests) / separateSeconds, unit: "request steps/s",
                                     detail: versusBound(separateSeconds / Double(requests)) + " per request"),
            OpsBenchmark.Measurement(name: "GPT-2 core, \(requests) requests × \(beams) beams in one pass (\(requests * beams) rows)",
                                     seconds: sharedSeconds, rate: Double(requests) / sharedSeconds, unit: "request steps/s",
                                     detail: String(format: "%.2f× the steps in turn", separateSeconds / sharedSeconds)),
            OpsBenchmark.Measurement(name: "latent pass, whole: \(prefill) prompt + \(latentCodes) codes + 2 positions",
                                     seconds: wholeSeconds, rate: Double(prefill + latentCodes + 2) / wholeSeconds,
                                     unit: "positions/s", detail: ""),
            OpsBenchmark.Measurement(name: "latent pass after the cached prompt: \(latentCodes) positions",
                                     seconds: continuedSeconds, rate: Double(latentCodes) / continuedSeconds,
                                     unit: "positions/s", detail: String(format: "%.2f× the whole pass", wholeSeconds / continuedSeconds)),
            OpsBenchmark.Measurement(name: "read-bandwidth bound: \(String(format: "%.0f", weightBytes / 1e6)) MB of weights per step",
                                     seconds: boundSeconds, rate: bandwidth.rate, unit: "GB/s", detail: bandwidth.name),
        ]
    }
}
