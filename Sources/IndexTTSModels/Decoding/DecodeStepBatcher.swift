import Foundation
import IndexTTSTensor

/// Joins the decoding steps of concurrent generations on one model into one pass over its weights.
///
/// A decoding step is bound by reading the weights (the full-size GPT-2 core is 0.94 GB in fp16 and about as much
/// again in fp32 per step), not by arithmetic: one product over the rows of several requests reads them once where
/// separate steps read them once each. Generations join with ``join()`` once their prompt has been through the model
/// (prompts are long and compute-bound; they run on their own) and ``leave()`` when they end. Each decoding step is
/// handed to ``step(_:state:)``, which waits until every joined generation has handed in its step — or, so that a
/// generation busy elsewhere (sampling, its beams' cache reorder, a streaming callback) cannot hold the others up,
/// until the oldest waiting step has waited as long as the last pass took (at least 1 ms, at most ``maximumWait``),
/// counted from its hand-in or from the end of the pass it arrived during, whichever is later.
/// The thread that completes a batch runs it (no extra thread); the others sleep until their rows are done.
/// A generation alone runs each step at once, as without the batcher.
///
/// Row for row a batched step is the single step's arithmetic: the projections and the MLP are products over all
/// rows, attention runs per request over its own cache (see ``GPT2Model/callAsFunction(_:states:)``). Which kernel
/// serves a product depends on its row count, so a batched step may differ from a lone one in the last bits
/// (`DecodeStepBatcherTests` bounds it).
///
/// Thread safety: every member's thread may call ``step(_:state:)`` at any time; a state is only touched by the pass
/// that holds its step, while its owner waits.
public final class DecodeStepBatcher: @unchecked Sendable {
    /// One request's step result: per batch row, the logits and the normed hidden state.
    public typealias Rows = [(logits: [Float], hidden: [Float])]

    /// What the batcher has done since it was made.
    public struct Statistics: Sendable, Equatable {
        /// Passes over the weights.
        public var passes = 0
        /// Decoding steps handed in (one per request and position).
        public var steps = 0
        /// Rows multiplied in all (a request's step has one row per beam).
        public var rows = 0
        /// The most requests one pass served.
        public var largestPass = 0
        public init() {}

        /// Steps per pass on average (0 before the first pass, 1 when nothing was batched).
        public var stepsPerPass: Double { passes == 0 ? 0 : Double(steps) / Double(passes) }
    }

    /// Most rows per pass: a step that would pass it waits for the next pass (a request's own rows always fit).
    public let maximumRows: Int
    /// Longest a step waits for other members before its pass runs without them, in seconds.
    public let maximumWait: Double
    /// Shortest such wait, in seconds (between the two: as long as the last pass took).
    public let minimumWait: Double

    private let model: UnifiedVoice
    private let condition = NSCondition()
    private var members = 0
    private var pending: [Ticket] = []
    private var running = false
    private var patience: Double
    /// When the last pass ended (uptime nanoseconds): a step handed in while it ran waits from then, so that the
    /// requests of that pass, sampling their next step, are not left behind by a pass of the latecomer alone.
    private var lastPassEnd: UInt64 = 0
    /// The last pass left steps behind for want of rows: they are due at once.
    private var carriedOver = false
    private var counters = Statistics()

    private final class Ticket {
        let embeddings: Tensor
        let state: GPT2Model.State
        let rows: Int
        let submitted: UInt64
        var result: Result<Rows, any Error>?

        init(embeddings: Tensor, state: GPT2Model.State, rows: Int) {
            self.embeddings = embeddings
            self.state = state
            self.rows = rows
            submitted = DispatchTime.now().uptimeNanoseconds
        }
    }

    /// A batcher for decoding steps on `model`.
    /// - Parameters:
    ///   - maximumRows: most rows per pass (64: 21 requests of 3 beams, well inside the fp16 register-tile kernels' range).
    ///   - maximumWait: the longest a step waits for the other members, in seconds.
    ///   - minimumWait: the shortest such wait (the wait is as long as the last pass took, within the two bounds).
    public init(model: UnifiedVoice, maximumRows: Int = 64, maximumWait: Double = 0.25, minimumWait: Double = 0.001) {
        self.model = model
        self.maximumRows = max(1, maximumRows)
        self.maximumWait = max(0, maximumWait)
        self.minimumWait = min(max(0, minimumWait), self.maximumWait)
        patience = self.minimumWait
    }

    /// Counts since the batcher was made.
    public var statistics: Statistics {
        condition.lock()
        defer { condition.unlock() }
        return counters
    }

    /// Generations now joined.
    public var memberCount: Int {
        condition.lock()
        defer { condition.unlock() }
        return members
    }

    /// A generation starts handing in steps.
    public func join() {
        condition.lock()
        members += 1
        condition.unlock()
    }

    /// A generation has ended (balances ``join()``); the others no longer wait for it.
    public func leave() {
        condition.lock()
        members = max(0, members - 1)
        condition.broadcast()
        condition.unlock()
    }

    /// One decoding step of a joined generation: `embeddings` `[batch, 1, model_dim]` (one fed-back code per beam)
    /// after what `state` holds. Returns its rows' logits and normed hidden states, as a lone step would.
    /// - Throws: a shape or capacity problem of this request alone (checked before it joins a pass), or the pass'
    ///   error for every request in it.
    public func step(_ embeddings: Tensor, state: GPT2Model.State) throws -> Rows {
        let c = model.configuration
        let batch = state.caches.first?.batch ?? 0
        guard embeddings.shape == [batch, 1, c.modelDim], state.caches.count == c.layers else {
            throw ModelError.invalidInput(component: "DecodeStepBatcher",
                                          reason: "step \(embeddings.shape) for a state of \(batch) rows, expected [\(batch), 1, \(c.modelDim)]")
        }
        if let full = state.caches.first(where: { $0.length + 1 > $0.capacity }) {
            throw ModelError.invalidInput(component: "DecodeStepBatcher",
                                          reason: "the state holds \(full.length) of \(full.capacity) positions: no room for a step")
        }
        let ticket = Ticket(embeddings: embeddings, state: state, rows: batch)
        condition.lock()
        defer { condition.unlock() }
        pending.append(ticket)
        condition.broadcast()
        while ticket.result == nil {
            if !running, let batch = takeBatchIfDue() {
                running = true
                condition.unlock()
                let start = DispatchTime.now().uptimeNanoseconds
                let outcome = Result(catching: { try model.batchedStep(batch.map(\.embeddings), states: batch.map(\.state)) })
                let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                condition.lock()
                switch outcome {
                case .success(let rows):
                    for (item, result) in zip(batch, rows) { item.result = .success(result) }
                case .failure(let error):
                    for item in batch { item.result = .failure(error) }
                }
                running = false
                lastPassEnd = DispatchTime.now().uptimeNanoseconds
                patience = min(maximumWait, max(minimumWait, seconds))
                counters.passes += 1
                counters.steps += batch.count
                counters.rows += batch.reduce(0) { $0 + $1.rows }
                counters.largestPass = max(counters.largestPass, batch.count)
                condition.broadcast()
                continue
            }
            if running || pending.isEmpty {
                condition.wait()
            } else {
                let deadline = Double(max(pending[0].submitted, lastPassEnd)) / 1e9 + patience
                let now = Double(DispatchTime.now().uptimeNanoseconds) / 1e9
                _ = condition.wait(until: Date(timeIntervalSinceNow: max(0, deadline - now)))
            }
        }
        return try ticket.result!.get()
    }

    /// The waiting steps that the next pass takes, if it is due: every member has handed one in, the rows fill a
    /// pass, the last pass had no room for them, or the oldest has waited its patience. Called with the lock held.
    private func takeBatchIfDue() -> [Ticket]? {
        guard !pending.isEmpty else { return nil }
        let rows = pending.reduce(0) { $0 + $1.rows }
        let now = DispatchTime.now().uptimeNanoseconds, since = max(pending[0].submitted, lastPassEnd)
        let waited = now > since ? Double(now - since) / 1e9 : 0
        guard pending.count >= members || rows >= maximumRows || carriedOver || waited >= patience else { return nil }
        var taken: [Ticket] = []
        var takenRows = 0
        while let next = pending.first, taken.isEmpty || takenRows + next.rows <= maximumRows {
            taken.append(pending.removeFirst())
            takenRows += next.rows
        }
        carriedOver = !pending.isEmpty
        return taken
    }
}
