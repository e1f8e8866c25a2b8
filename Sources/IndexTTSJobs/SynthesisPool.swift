import Dispatch
import Synchronization

/// Runs blocking, CPU-bound syntheses on their own threads, at most `width` at once, so that neither the HTTP event
/// loops nor Swift's cooperative thread pool ever wait on a model. Callers beyond `width` wait in FIFO order.
public final class SynthesisPool: Sendable {
    public let width: Int
    let queue = DispatchQueue(label: "indextts.synthesis", qos: .userInitiated, attributes: .concurrent)
    let state: Mutex<State>

    struct State {
        var running = 0
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    public init(width: Int) {
        self.width = max(1, width)
        state = Mutex(State())
    }

    /// Syntheses running now and requests waiting for a slot.
    public var load: (running: Int, waiting: Int) { state.withLock { ($0.running, $0.waiters.count) } }

    public func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        await acquire()
        defer { releaseSlot() }
        return try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try work() }) }
        }
    }

    func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let granted = state.withLock { s -> Bool in
                if s.running < width {
                    s.running += 1
                    return true
                }
                s.waiters.append(continuation)
                return false
            }
            if granted { continuation.resume() }
        }
    }

    func releaseSlot() {
        let next = state.withLock { s -> CheckedContinuation<Void, Never>? in
            if s.waiters.isEmpty {
                s.running -= 1
                return nil
            }
            return s.waiters.removeFirst()  // the slot passes straight to the next waiter
        }
        next?.resume()
    }
}

/// A flag set once from any thread and read from any other (cancellation, shutdown, disconnected clients).
public final class AtomicFlag: Sendable {
    private let value = Mutex(false)
    public init() {}
    public var isSet: Bool { value.withLock { $0 } }
    public func set() { value.withLock { $0 = true } }
}
