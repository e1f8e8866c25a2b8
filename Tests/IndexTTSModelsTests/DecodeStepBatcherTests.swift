import Foundation
import IndexTTSModels
import IndexTTSTensor
import IndexTTSTestSupport
import IndexTTSWeights
import Testing

/// Several requests' decoding steps in one pass over the weights (``GPT2Model/callAsFunction(_:states:)``,
/// ``DecodeStepBatcher``) against the same steps run one request at a time.
struct DecodeStepBatcherTests {
    /// Three requests of 2, 1 and 3 rows with 4, 7 and 2 cached positions take three steps together; a second copy
    /// of each takes them alone. The products of different row counts run through different kernels (BLAS, the
    /// small-batch and fp16 kernels unroll differently per row count), so rows agree to fp32 round-off (1e-5).
    @Test(arguments: [false, true]) func batchedStepsEqualLoneSteps(half: Bool) throws {
        let loaded = try GPT2ModelTests.model()
        let gpt = half ? try loaded.halfPrecision() : loaded
        let d = GPT2ModelTests.configuration.modelDimension
        let shapes = [(batch: 2, prompt: 4), (batch: 1, prompt: 7), (batch: 3, prompt: 2)]
        func prefilled() throws -> [GPT2Model.State] {
            try shapes.enumerated().map { index, shape in
                let state = gpt.makeState(batch: shape.batch, capacity: 16)
                _ = try gpt(TestRandom.tensor([shape.batch, shape.prompt, d], seed: UInt64(index + 1)), state: state)
                return state
            }
        }
        let together = try prefilled(), alone = try prefilled()
        for step in 0..<3 {
            let inputs = shapes.enumerated().map { index, shape in
                TestRandom.tensor([shape.batch, 1, d], seed: UInt64(100 * step + index + 10))
            }
            let batched = try gpt(Tensor.concatenate(inputs, axis: 0), states: together)
            #expect(batched.shape == [6, 1, d])
            var row = 0
            for (index, input) in inputs.enumerated() {
                let lone = try gpt(input, state: alone[index])
                let rows = try batched.sliced(axis: 0, range: row..<(row + input.shape[0]))
                expectClose(rows, lone, tolerance: .init(rtol: 1e-5, atol: 1e-5), "request \(index), step \(step)")
                row += input.shape[0]
            }
        }
        #expect(together.map(\.length) == [7, 10, 5])
    }

    @Test func badBatchesAreRejectedBeforeAnyCacheIsWritten() throws {
        let gpt = try GPT2ModelTests.model()
        let d = GPT2ModelTests.configuration.modelDimension
        let roomy = gpt.makeState(batch: 1, capacity: 4), full = gpt.makeState(batch: 2, capacity: 1)
        _ = try gpt(TestRandom.tensor([2, 1, d], seed: 1), state: full)
        // Rows that do not add up to the states' batches, one state twice, a wrong width, then a state without room.
        #expect(throws: TensorError.self) { try gpt(TestRandom.tensor([3, 1, d], seed: 2), states: [roomy, roomy]) }
        #expect(throws: TensorError.self) { try gpt(TestRandom.tensor([2, 1, d], seed: 2), states: [roomy, roomy]) }
        #expect(throws: TensorError.self) { try gpt(TestRandom.tensor([3, 1, d + 1], seed: 2), states: [roomy, full]) }
        #expect(throws: TensorError.self) { try gpt(TestRandom.tensor([3, 1, d], seed: 2), states: [roomy, full]) }
        #expect(roomy.length == 0 && full.length == 1)
    }

    /// Three generations (beam search, greedy, beam-sample) on three threads share one batcher. Each waits at its
    /// first code until all three have joined, and the batcher waits for every member (patience up to 30 s), so every
    /// pass holds all generations still decoding. The codes equal each generation run alone, and the passes number
    /// the longest generation's steps, not the sum.
    @Test func concurrentGenerationsShareEveryPassAndKeepTheirCodes() throws {
        let model = UnifiedVoiceTests.model
        let prompt = try UnifiedVoiceTests.prompt()
        var beam = UnifiedVoiceTests.options(sample: false, beams: 3)
        beam.minNewTokens = 12
        var greedy = UnifiedVoiceTests.options(sample: false, beams: 1)
        greedy.minNewTokens = 20
        var beamSample = UnifiedVoiceTests.options(sample: true, beams: 2)
        beamSample.minNewTokens = 16
        let runs = [(beam, UInt64(1)), (greedy, 2), (beamSample, 3)]
        let lone = try runs.map { options, seed in try model.generate(prompt: prompt, options: options, seed: seed) }

        let batcher = DecodeStepBatcher(model: model, maximumWait: 30, minimumWait: 30)
        let arrived = NSCondition()
        let joined = Counter()
        let results = ResultSlots<GenerationResult>(count: runs.count)
        runOnThreads(runs.count) { index in
            results.set(index, Result(catching: {
                var random = SeededRandomSource(seed: runs[index].1)
                return try model.generate(prompt: prompt, options: runs[index].0, random: &random, batcher: batcher) { step in
                    guard step.step == 1 else { return }
                    arrived.lock()
                    defer { arrived.unlock() }
                    joined.value += 1
                    arrived.broadcast()
                    while joined.value < runs.count {
                        guard arrived.wait(until: Date(timeIntervalSinceNow: 30)) else { throw CancellationError() }
                    }
                }
            }))
        }
        for (index, expected) in lone.enumerated() {
            let result = try results.get(index)
            #expect(result.codes == expected.codes && result.stop == expected.stop, "generation \(index)")
        }
        let stats = batcher.statistics
        let steps = lone.map { $0.steps - 1 }  // the first code comes from the prompt's pass
        #expect(stats.steps == steps.reduce(0, +))
        #expect(stats.passes == steps.max())
        #expect(stats.largestPass == 3)
        #expect(stats.rows == zip(steps, [3, 1, 2]).reduce(0) { $0 + $1.0 * $1.1 })
        #expect(batcher.memberCount == 0)
    }

    /// A pass never exceeds ``DecodeStepBatcher/maximumRows``: two 3-beam generations with room for 4 rows take
    /// their steps in separate passes (and still finish, each waiting at most its patience).
    @Test func passesRespectTheRowLimit() throws {
        let model = UnifiedVoiceTests.model
        let prompt = try UnifiedVoiceTests.prompt()
        var options = UnifiedVoiceTests.options(sample: false, beams: 3)
        options.minNewTokens = 6
        options.maxNewTokens = 6
        let batcher = DecodeStepBatcher(model: model, maximumRows: 4)
        let fixed = options
        let results = ResultSlots<GenerationResult>(count: 2)
        runOnThreads(2) { index in
            results.set(index, Result(catching: {
                var random = SeededRandomSource(seed: 0)
                return try model.generate(prompt: prompt, options: fixed, random: &random, batcher: batcher)
            }))
        }
        let expected = try model.generate(prompt: prompt, options: options, seed: 0)
        for index in 0..<2 { #expect(try results.get(index).codes == expected.codes) }
        #expect(batcher.statistics.largestPass == 1 && batcher.statistics.passes == 10)
    }

    @Test func aBadStepFailsAloneWithATypedError() throws {
        let model = UnifiedVoiceTests.model
        let batcher = DecodeStepBatcher(model: model)
        let state = model.gpt.makeState(batch: 2, capacity: 1)
        batcher.join()
        defer { batcher.leave() }
        let width = model.configuration.modelDim
        #expect(throws: ModelError.self) { try batcher.step(TestRandom.tensor([1, 1, width], seed: 1), state: state) }
        let rows = try batcher.step(TestRandom.tensor([2, 1, width], seed: 1), state: state)
        #expect(rows.count == 2 && rows[0].logits.count == model.configuration.numberMelCodes)
        #expect(throws: ModelError.self) { try batcher.step(TestRandom.tensor([2, 1, width], seed: 1), state: state) }  // full
        #expect(batcher.statistics.passes == 1)
    }
}

/// `body(0..<count)` each on its own thread (not `concurrentPerform`, which runs no more at once than there are
/// cores); returns when all have ended.
func runOnThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let group = DispatchGroup()
    for index in 0..<count {
        group.enter()
        Thread.detachNewThread {
            body(index)
            group.leave()
        }
    }
    group.wait()
}

/// A number guarded by the caller's lock.
final class Counter: @unchecked Sendable {
    var value = 0
}

/// One result per concurrent iteration.
final class ResultSlots<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [Result<Value, any Error>?]

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    func set(_ index: Int, _ result: Result<Value, any Error>) {
        lock.lock()
        slots[index] = result
        lock.unlock()
    }

    func get(_ index: Int) throws -> Value {
        lock.lock()
        defer { lock.unlock() }
        guard let slot = slots[index] else { throw CancellationError() }
        return try slot.get()
    }
}
