/// Applies a byte-labelled transducer to a string exactly as pynini's `shortestpath(string @ fst).string()` does:
/// the input is read as its UTF-8 bytes, the composition of that linear acceptor with the transducer is searched for
/// its lowest-weight accepting path (tropical semiring: weights add along a path in 32-bit floats, the minimum
/// wins), and the output labels of that path — input-epsilon insertions included, epsilons dropped — are the result.
///
/// Equal-weight paths are common in WeTextProcessing's grammars ("1001" as a year or as a cardinal), so the choice
/// among them follows OpenFst step by step rather than any search order of our own:
/// - the lattice's states are (input position, FST state) pairs; a state's arcs are the FST state's arcs that read
///   nothing or the next input byte, in the FST's own arc order (what composition with a sorted matcher yields);
/// - `ShortestPath` runs on the connected lattice (states that cannot reach the end removed) with OpenFst's
///   automatic queue: last-in-first-out when every arc left weighs 0 (the verbalizers), otherwise — the lattice
///   being acyclic — the topological order of a depth-first search from the start (reverse finishing order, arcs
///   taken in order);
/// - a state's distance changes only when a strictly smaller one arrives, so the first predecessor in that order,
///   and its first arc, wins a tie; the accepting state is chosen the same way.
///
/// Dead branches are mostly not built: for every FST state the bytes its input-epsilon closure can read next, a
/// signature of the byte pairs it can read, and whether it reaches a final state are computed once, and a lattice
/// node that can read neither the next byte (or byte pair) nor end the input is never created. States that cannot reach the end change neither the best path nor the
/// order in which the search meets the others, so this only saves work.
public struct StringRewriter: Sendable {
    public let fst: StdVectorFST
    let lookahead: Lookahead

    public init(fst: StdVectorFST) {
        self.fst = fst
        self.lookahead = Lookahead(fst)
    }

    /// The output of the best path for `input`, or nil when the transducer accepts no path for it.
    public func rewrite(_ input: String) -> String? {
        rewrite(bytes: Array(input.utf8)).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The output bytes of the best path for the input bytes, or nil when no path accepts them.
    public func rewrite(bytes input: [UInt8]) -> [UInt8]? {
        input.withUnsafeBufferPointer { search($0) }
    }

    /// Per FST state: the input bytes readable next through input-epsilon arcs (256 bits); a 64-bit signature of
    /// the byte pairs readable next (pair (b1, b2) sets bit (b2 + 11·b1) mod 64 — collisions only weaken the test);
    /// and whether a final state is reachable through input-epsilon arcs alone.
    final class Lookahead: @unchecked Sendable {
        let firstBytes: UnsafeMutablePointer<UInt64>
        let pairSignature: UnsafeMutablePointer<UInt64>
        let endsByEpsilon: UnsafeMutablePointer<Bool>

        init(_ fst: StdVectorFST) {
            let states = fst.stateCount, f = fst.storage
            firstBytes = .allocate(capacity: states * 4)
            firstBytes.initialize(repeating: 0, count: states * 4)
            pairSignature = .allocate(capacity: states)
            pairSignature.initialize(repeating: 0, count: states)
            endsByEpsilon = .allocate(capacity: states)
            for s in 0..<states {
                endsByEpsilon[s] = f.finals[s].isFinite
                for a in Int(f.arcStart[s])..<Int(f.arcStart[s + 1]) where f.inputLabels[a] > 0 && f.inputLabels[a] < 256 {
                    let label = Int(f.inputLabels[a])
                    firstBytes[s * 4 + (label >> 6)] |= 1 << UInt64(label & 63)
                }
            }
            // Close over input-epsilon arcs until nothing changes (last state to first, which settles the optimised
            // grammars in a few passes; cycles are handled by the repetition).
            var changed = true
            while changed {
                changed = false
                for s in stride(from: states - 1, through: 0, by: -1) {
                    for a in Int(f.arcStart[s])..<Int(f.arcStart[s + 1]) where f.inputLabels[a] == 0 {
                        let t = Int(f.nextStates[a])
                        for k in 0..<4 where firstBytes[t * 4 + k] & ~firstBytes[s * 4 + k] != 0 {
                            firstBytes[s * 4 + k] |= firstBytes[t * 4 + k]
                            changed = true
                        }
                        if endsByEpsilon[t] && !endsByEpsilon[s] {
                            endsByEpsilon[s] = true
                            changed = true
                        }
                    }
                }
            }

            // Pair signatures: an arc reading b1 into r contributes r's next bytes, folded to 64 bits (b2 mod 64 —
            // UTF-8 continuation bytes stay distinct) and rotated by 11·b1; then closed over input-epsilon arcs.
            for s in 0..<states {
                var signature: UInt64 = 0
                for a in Int(f.arcStart[s])..<Int(f.arcStart[s + 1]) where f.inputLabels[a] > 0 && f.inputLabels[a] < 256 {
                    let r = Int(f.nextStates[a])
                    let folded = firstBytes[r * 4] | firstBytes[r * 4 + 1] | firstBytes[r * 4 + 2] | firstBytes[r * 4 + 3]
                    signature |= folded.rotated(by: Self.pairShift(Int(f.inputLabels[a])))
                }
                pairSignature[s] = signature
            }
            changed = true
            while changed {
                changed = false
                for s in stride(from: states - 1, through: 0, by: -1) {
                    for a in Int(f.arcStart[s])..<Int(f.arcStart[s + 1]) where f.inputLabels[a] == 0 {
                        let t = Int(f.nextStates[a])
                        if pairSignature[t] & ~pairSignature[s] != 0 {
                            pairSignature[s] |= pairSignature[t]
                            changed = true
                        }
                    }
                }
            }
        }

        deinit {
            firstBytes.deallocate()
            pairSignature.deallocate()
            endsByEpsilon.deallocate()
        }

        @inline(__always)
        static func pairShift(_ first: Int) -> Int { (first * 11) & 63 }

        /// Whether a node for `state` at `position` can lie on an accepting path, as far as the next two input bytes
        /// tell (a necessary condition: a node that passes may still die later).
        @inline(__always)
        func viable(_ state: Int32, _ position: Int, _ input: UnsafeBufferPointer<UInt8>) -> Bool {
            if position == input.count { return endsByEpsilon[Int(state)] }
            let byte = Int(input[position])
            guard firstBytes[Int(state) * 4 + (byte >> 6)] & (1 << UInt64(byte & 63)) != 0 else { return false }
            guard position + 1 < input.count else { return true }
            let bit = (Int(input[position + 1]) + Self.pairShift(byte)) & 63
            return pairSignature[Int(state)] & (1 << UInt64(bit)) != 0
        }
    }

    /// The whole search for one input: lattice construction, depth-first order, liveness, shortest path, backtrace.
    func search(_ input: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        let f = fst.storage, look = lookahead, n = input.count
        guard look.viable(fst.start, 0, input) else { return nil }

        // Nodes (one per reachable (position, state)) and their arcs, which are stored contiguously per node.
        let estimate = n * 12 + 64
        var nodeState = GrowableBuffer<Int32>(capacity: estimate), nodePosition = GrowableBuffer<Int32>(capacity: estimate)
        var edgeStart = GrowableBuffer<Int32>(capacity: estimate), edgeEnd = GrowableBuffer<Int32>(capacity: estimate)
        var edgeTarget = GrowableBuffer<Int32>(capacity: estimate), edgeArc = GrowableBuffer<Int32>(capacity: estimate)
        var current = GrowableBuffer<Int32>(capacity: 256), next = GrowableBuffer<Int32>(capacity: 256)
        defer {
            nodeState.free(); nodePosition.free(); edgeStart.free(); edgeEnd.free(); edgeTarget.free(); edgeArc.free()
            current.free(); next.free()
        }

        // FST state → node, for the current and the next position (by parity; valid when the stamp matches).
        let states = fst.stateCount
        let stamp = UnsafeMutablePointer<Int32>.allocate(capacity: 2 * states)
        stamp.initialize(repeating: -1, count: 2 * states)
        let slot = UnsafeMutablePointer<Int32>.allocate(capacity: 2 * states)
        defer { stamp.deallocate(); slot.deallocate() }

        nodeState.append(fst.start); nodePosition.append(0); edgeStart.append(0); edgeEnd.append(0)
        stamp[Int(fst.start)] = 0
        slot[Int(fst.start)] = 0
        current.append(0)

        // Expansion, position by position: every node of a position (including those its input-epsilon arcs
        // create) before the next position.
        for position in 0...n {
            let label: Int32 = position < n ? Int32(input[position]) : -1
            var head = 0
            while head < current.count {
                let u = Int(current[head])
                head += 1
                let state = Int(nodeState[u])
                edgeStart[u] = Int32(edgeTarget.count)
                let rowStart = Int(f.arcStart[state]), rowEnd = Int(f.arcStart[state + 1])
                var a = rowStart
                while a < rowEnd {
                    let arcLabel = f.inputLabels[a]
                    let consuming: Bool
                    if arcLabel == 0 {
                        consuming = false
                    } else if arcLabel == label {
                        consuming = true
                    } else {
                        if fst.isInputSorted {
                            if arcLabel > label { break }
                            // Jump to the first arc reading `label` (binary search over the sorted rest of the row).
                            var lo = a + 1, hi = rowEnd
                            while lo < hi {
                                let mid = (lo + hi) >> 1
                                if f.inputLabels[mid] < label { lo = mid + 1 } else { hi = mid }
                            }
                            a = lo
                        } else {
                            a += 1
                        }
                        continue
                    }
                    let target = f.nextStates[a]
                    let targetPosition = consuming ? position + 1 : position
                    if look.viable(target, targetPosition, input) {
                        let index = (targetPosition & 1) * states + Int(target)
                        var v: Int32
                        if stamp[index] == Int32(targetPosition) {
                            v = slot[index]
                        } else {
                            v = Int32(nodeState.count)
                            nodeState.append(target); nodePosition.append(Int32(targetPosition))
                            edgeStart.append(0); edgeEnd.append(0)
                            stamp[index] = Int32(targetPosition)
                            slot[index] = v
                            if consuming { next.append(v) } else { current.append(v) }
                        }
                        edgeTarget.append(v)
                        edgeArc.append(Int32(a))
                    }
                    a += 1
                }
                edgeEnd[u] = Int32(edgeTarget.count)
            }
            swap(&current, &next)
            next.count = 0
            if current.count == 0 { break }
        }

        let count = nodeState.count
        // Depth-first search from the start, arcs in order. On finishing a node all nodes it reaches have finished
        // (the lattice is acyclic), so liveness and the weights of live arcs are settled then too.
        var finishing = GrowableBuffer<Int32>(capacity: count)
        var stackNode = GrowableBuffer<Int32>(capacity: 1024), stackEdge = GrowableBuffer<Int32>(capacity: 1024)
        let color = UnsafeMutablePointer<UInt8>.allocate(capacity: count)  // 0 new, 1 on the stack, 2 finished
        color.initialize(repeating: 0, count: count)
        let live = UnsafeMutablePointer<Bool>.allocate(capacity: count)
        live.initialize(repeating: false, count: count)
        let finals = UnsafeMutablePointer<Float>.allocate(capacity: count)
        finals.initialize(repeating: .infinity, count: count)
        let distance = UnsafeMutablePointer<Float>.allocate(capacity: count)
        distance.initialize(repeating: .infinity, count: count)
        let parentNode = UnsafeMutablePointer<Int32>.allocate(capacity: count)
        parentNode.initialize(repeating: -1, count: count)
        let parentArc = UnsafeMutablePointer<Int32>.allocate(capacity: count)
        defer {
            finishing.free(); stackNode.free(); stackEdge.free()
            color.deallocate(); live.deallocate(); finals.deallocate(); distance.deallocate()
            parentNode.deallocate(); parentArc.deallocate()
        }
        var cyclic = false, weighted = false
        stackNode.append(0); stackEdge.append(edgeStart[0])
        color[0] = 1
        while stackNode.count > 0 {
            let top = stackNode[stackNode.count - 1]
            let e = stackEdge[stackEdge.count - 1]
            if e < edgeEnd[Int(top)] {
                stackEdge[stackEdge.count - 1] = e + 1
                let v = Int(edgeTarget[Int(e)])
                if color[v] == 0 {
                    color[v] = 1
                    stackNode.append(Int32(v))
                    stackEdge.append(edgeStart[v])
                } else if color[v] == 1 {
                    cyclic = true
                }
                continue
            }
            let u = Int(top)
            color[u] = 2
            stackNode.count -= 1
            stackEdge.count -= 1
            finishing.append(top)
            if nodePosition[u] == Int32(n) { finals[u] = f.finals[Int(nodeState[u])] }
            var reaches = finals[u].isFinite
            for e in Int(edgeStart[u])..<Int(edgeEnd[u]) where live[Int(edgeTarget[e])] {
                reaches = true
                let w = f.weights[Int(edgeArc[e])]
                if w != 0 && w != .infinity { weighted = true }
            }
            live[u] = reaches
        }
        if cyclic {
            // Not met with WeTextProcessing's grammars; liveness above is then approximate, so recompute it.
            let exact = Self.liveNodes(count: count, finals: finals, edgeStart: edgeStart, edgeEnd: edgeEnd, edgeTarget: edgeTarget)
            for u in 0..<count { live[u] = exact[u] }
        }
        guard live[0] else { return nil }

        distance[0] = 0
        var best = -1
        var bestWeight = Float.infinity
        if !weighted || cyclic {
            // LIFO discipline; a cyclic lattice is also searched this way (label-correcting: the weight is still
            // the minimum).
            var stack: [Int32] = [0]
            var queued = [Bool](repeating: false, count: count)
            queued[0] = true
            while let top = stack.popLast() {
                let u = Int(top)
                queued[u] = false
                let d = distance[u]
                if finals[u].isFinite && d + finals[u] < bestWeight { bestWeight = d + finals[u]; best = u }
                for e in Int(edgeStart[u])..<Int(edgeEnd[u]) {
                    let v = Int(edgeTarget[e])
                    guard live[v] else { continue }
                    let candidate = d + f.weights[Int(edgeArc[e])]
                    if candidate < distance[v] {
                        distance[v] = candidate; parentNode[v] = top; parentArc[v] = edgeArc[e]
                        if !queued[v] { queued[v] = true; stack.append(Int32(v)) }
                    }
                }
            }
        } else {
            var k = finishing.count - 1
            while k >= 0 {
                let top = finishing[k]
                k -= 1
                let u = Int(top)
                guard live[u] else { continue }
                let d = distance[u]
                if finals[u].isFinite && d + finals[u] < bestWeight { bestWeight = d + finals[u]; best = u }
                for e in Int(edgeStart[u])..<Int(edgeEnd[u]) {
                    let v = Int(edgeTarget[e])
                    guard live[v] else { continue }
                    let candidate = d + f.weights[Int(edgeArc[e])]
                    if candidate < distance[v] { distance[v] = candidate; parentNode[v] = top; parentArc[v] = edgeArc[e] }
                }
            }
        }
        guard best >= 0 else { return nil }
        var labels: [UInt8] = []
        var u = best
        while parentNode[u] >= 0 {
            let label = f.outputLabels[Int(parentArc[u])]
            if label > 0 { labels.append(UInt8(truncatingIfNeeded: label)) }
            u = Int(parentNode[u])
        }
        return labels.reversed()
    }

    /// Nodes from which a final node is reachable (reverse breadth-first search), for cyclic lattices.
    static func liveNodes(count: Int, finals: UnsafeMutablePointer<Float>, edgeStart: GrowableBuffer<Int32>,
                          edgeEnd: GrowableBuffer<Int32>, edgeTarget: GrowableBuffer<Int32>) -> [Bool] {
        var incoming = [[Int32]](repeating: [], count: count)
        for u in 0..<count { for e in Int(edgeStart[u])..<Int(edgeEnd[u]) { incoming[Int(edgeTarget[e])].append(Int32(u)) } }
        var live = (0..<count).map { finals[$0].isFinite }
        var queue = (0..<count).filter { live[$0] }.map(Int32.init)
        while let v = queue.popLast() {
            for u in incoming[Int(v)] where !live[Int(u)] {
                live[Int(u)] = true
                queue.append(u)
            }
        }
        return live
    }
}

/// A growable array over a raw allocation, for the search's inner loops (no reference counting, no bounds or
/// uniqueness checks). The owner frees it.
struct GrowableBuffer<Element: BitwiseCopyable> {
    var base: UnsafeMutablePointer<Element>
    var count = 0
    var capacity: Int

    init(capacity: Int) {
        self.capacity = max(16, capacity)
        base = .allocate(capacity: self.capacity)
    }

    @inline(__always)
    mutating func append(_ value: Element) {
        if count == capacity { grow() }
        base[count] = value
        count += 1
    }

    mutating func grow() {
        let bigger = UnsafeMutablePointer<Element>.allocate(capacity: capacity * 2)
        bigger.update(from: base, count: count)
        base.deallocate()
        base = bigger
        capacity *= 2
    }

    @inline(__always)
    subscript(index: Int) -> Element {
        get { base[index] }
        nonmutating set { base[index] = newValue }
    }

    func free() { base.deallocate() }
}

extension UInt64 {
    /// Left rotation by `count` bits (0…63).
    @inline(__always)
    func rotated(by count: Int) -> UInt64 {
        count == 0 ? self : (self << UInt64(count)) | (self >> UInt64(64 - count))
    }
}
