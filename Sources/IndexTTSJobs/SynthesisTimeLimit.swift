import Dispatch
import IndexTTS

/// A wall-clock limit on one synthesis (the server's `--request-timeout`, a job's `--job-timeout`).
///
/// The clock starts when the synthesis gets its ``SynthesisPool`` slot — time spent waiting for a slot is not
/// counted, so a busy server does not fail requests that never ran. The limit works through the request's own
/// cancellation: ``arm(_:)`` extends ``SynthesisRequest/isCancelled`` so that it also says stop once the time is up,
/// the engine stops at its next check (the default voice between segments, IndexTTS2 within a GPT step or a CFM
/// step) and the pool slot is freed; ``SynthesisTimeLimit/Deadline/run(_:)`` then turns the engine's ``SynthesisError/cancelled`` into
/// ``SynthesisError/timedOut(limitSeconds:)``. A cancellation the request carried before (a client that went away,
/// a cancelled job, a lost lease, shutdown) keeps its own meaning.
public struct SynthesisTimeLimit: Sendable, Equatable {
    /// Seconds; nil (or ≤ 0) means no limit.
    public var seconds: Double?

    public init(seconds: Double?) {
        self.seconds = seconds.flatMap { $0 > 0 && $0.isFinite ? $0 : nil }
    }

    public static let none = SynthesisTimeLimit(seconds: nil)

    /// Starts the clock now and extends `request`'s cancellation with it.
    public func arm(_ request: inout SynthesisRequest) -> Deadline {
        let deadline = start(previous: request.isCancelled)
        request.isCancelled = deadline.isCancelled
        return deadline
    }

    /// Starts the clock now over an existing cancellation check (`previous`); give the deadline's
    /// ``Deadline/isCancelled`` to the request.
    public func start(previous: (@Sendable () -> Bool)?) -> Deadline {
        Deadline(seconds: seconds, previous: previous)
    }

    /// One armed limit: when it ends, and the cancellation it extends.
    public struct Deadline: Sendable {
        public let seconds: Double?
        let end: UInt64?
        let previous: (@Sendable () -> Bool)?

        init(seconds: Double?, previous: (@Sendable () -> Bool)?) {
            self.seconds = seconds
            self.previous = previous
            end = seconds.map { DispatchTime.now().uptimeNanoseconds &+ UInt64(min($0, 1e9) * 1e9) }
        }

        /// The time is up.
        public var expired: Bool {
            guard let end else { return false }
            return DispatchTime.now().uptimeNanoseconds >= end
        }

        /// The cancellation check for the request: the previous one, or the time is up. Without a limit, the
        /// previous check unchanged.
        public var isCancelled: (@Sendable () -> Bool)? {
            guard seconds != nil else { return previous }
            let deadline = self
            return { deadline.previous?() == true || deadline.expired }
        }

        /// Runs `work` (the engine call), reporting a stop caused by this limit as
        /// ``SynthesisError/timedOut(limitSeconds:)``.
        public func run<T>(_ work: () throws -> T) throws -> T {
            do {
                return try work()
            } catch SynthesisError.cancelled {
                if let seconds, expired, previous?() != true { throw SynthesisError.timedOut(limitSeconds: seconds) }
                throw SynthesisError.cancelled
            }
        }
    }
}
