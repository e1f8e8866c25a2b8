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
/// node that can read neither the next byte (or byte pair) nor end the input is never created. States that cannot
/// reach the end change neither the best path nor the order in which the search meets the others, so this only saves
/// work.
public struct StringRewriter: Sendable {
    public let fst: StdVectorFST
    let lookahead: Lookahead
    /// Lattice nodes held before the search commits the settled prefix of a long input (about 45 bytes each). It
    /// bounds memory and never changes the result; the default keeps inputs of a few thousand characters in one
    /// window. A lattice with no weighted arc at all (the verbalizers' usual case) is searched last-in-first-out,
    /// which has no settled prefix: it stays in one window, as it is small.
    public var windowNodes: Int

    public init(fst: StdVectorFST, windowNodes: Int = 1 << 18) {
        self.fst = fst
        self.lookahead = Lookahead(fst)
        self.windowNodes = windowNodes
    }

    /// The output of the best path for `input`, or nil when the transducer accepts no path for it.
    public func rewrite(_ input: String) -> String? {
        rewrite(bytes: Array(input.utf8)).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The output bytes of the best path for the input bytes, or nil when no path accepts them. A NUL byte is label
    /// 0, epsilon, in a compiled string: it reads as nothing, so it is dropped.
    public func rewrite(bytes input: [UInt8]) -> [UInt8]? {
        let bytes = input.contains(0) ? input.filter { $0 != 0 } : input
        return bytes.withUnsafeBufferPointer { search($0) }
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

    /// The whole search for one input. The lattice is built position by position; once it holds `windowNodes`
    /// nodes, the settled prefix is committed at a cut — a node through which every path still reaching the
    /// frontier runs — and the search goes on from that node, carrying its exact distance (the sums keep their
    /// order, so ties are broken as the whole-lattice search breaks them).
    func search(_ input: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        let n = input.count
        guard lookahead.viable(fst.start, 0, input) else { return nil }
        var lattice = Lattice(rewriter: self, input: input)
        defer { lattice.free() }
        var output: [UInt8] = []
        var root = Lattice.Root(state: fst.start, position: 0, distance: 0)
        var committed = false, mayCommit = true
        let window = min(max(16, windowNodes), 1 << 40)
        var threshold = window
        restart: while true {
            lattice.reset(root)
            var position = root.position
            while position <= n {
                lattice.expand(position)
                if lattice.current.count == 0 { break }
                position += 1
                guard mayCommit, position < n, lattice.nodeState.count >= threshold else { continue }
                switch lattice.commitPrefix(frontier: position, root: root, knownWeighted: committed) {
                case .committed(let labels, let cut):
                    output += labels
                    root = cut
                    committed = true
                    threshold = window
                    continue restart
                case .notYet:
                    threshold *= 2
                case .never:
                    mayCommit = false
                }
            }
            guard let labels = lattice.solveToEnd(root: root, knownWeighted: committed) else { return nil }
            return output + labels
        }
    }

    /// One window of the lattice: nodes are (position, state) pairs from `root` on, arcs stored contiguously per node.
    struct Lattice {
        struct Root { var state: Int32; var position: Int; var distance: Float }
        enum Commit { case committed([UInt8], Root), notYet, never }

        let fst: StdVectorFST
        let look: Lookahead
        let input: UnsafeBufferPointer<UInt8>
        let states: Int
        var nodeState: GrowableBuffer<Int32>, nodePosition: GrowableBuffer<Int32>
        var edgeStart: GrowableBuffer<Int32>, edgeEnd: GrowableBuffer<Int32>
        var edgeTarget: GrowableBuffer<Int32>, edgeArc: GrowableBuffer<Int32>
        /// Nodes of the position being expanded (grows with its input-epsilon arcs) and of the next one.
        var current: GrowableBuffer<Int32>, next: GrowableBuffer<Int32>
        /// FST state → node, for the current and the next position (by parity; valid when the stamp matches).
        let stamp: UnsafeMutablePointer<Int32>, slot: UnsafeMutablePointer<Int32>

        init(rewriter: StringRewriter, input: UnsafeBufferPointer<UInt8>) {
            fst = rewriter.fst
            look = rewriter.lookahead
            self.input = input
            states = fst.stateCount
            let estimate = min(input.count * 12 + 64, min(max(64, rewriter.windowNodes), 1 << 30) * 2)
            nodeState = GrowableBuffer(capacity: estimate); nodePosition = GrowableBuffer(capacity: estimate)
            edgeStart = GrowableBuffer(capacity: estimate); edgeEnd = GrowableBuffer(capacity: estimate)
            edgeTarget = GrowableBuffer(capacity: estimate); edgeArc = GrowableBuffer(capacity: estimate)
            current = GrowableBuffer(capacity: 256); next = GrowableBuffer(capacity: 256)
            stamp = .allocate(capacity: 2 * states)
            slot = .allocate(capacity: 2 * states)
        }

        func free() {
            nodeState.free(); nodePosition.free(); edgeStart.free(); edgeEnd.free(); edgeTarget.free(); edgeArc.free()
            current.free(); next.free(); stamp.deallocate(); slot.deallocate()
        }

        /// Empties the window and starts it at `root` (node 0).
        mutating func reset(_ root: Root) {
            nodeState.count = 0; nodePosition.count = 0; edgeStart.count = 0; edgeEnd.count = 0
            edgeTarget.count = 0; edgeArc.count = 0; current.count = 0; next.count = 0
            stamp.initialize(repeating: -1, count: 2 * states)
            let index = (root.position & 1) * states + Int(root.state)
            nodeState.append(root.state); nodePosition.append(Int32(root.position)); edgeStart.append(0); edgeEnd.append(0)
            stamp[index] = Int32(root.position)
            slot[index] = 0
            current.append(0)
        }

        /// Expands every node of `position` (including those its input-epsilon arcs create); afterwards `current`
        /// holds the nodes of the next position.
        mutating func expand(_ position: Int) {
            let f = fst.storage
            let label: Int32 = position < input.count ? Int32(input[position]) : -1
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
        }

        /// Depth-first search from node 0 following arcs in order (only those `follow` allows, and none out of
        /// `leaf`), returning the finishing order, liveness (a node is live when `isGoal` holds for it or it reaches
        /// a live node), whether a cycle was met and whether a live arc carries a weight other than 0.
        func depthFirst(follow: (Int) -> Bool, leaf: Int, isGoal: (Int) -> Bool)
            -> (finishing: GrowableBuffer<Int32>, live: UnsafeMutablePointer<Bool>, cyclic: Bool, weighted: Bool) {
            let count = nodeState.count, f = fst.storage
            var finishing = GrowableBuffer<Int32>(capacity: count)
            var stackNode = GrowableBuffer<Int32>(capacity: 1024), stackEdge = GrowableBuffer<Int32>(capacity: 1024)
            defer { stackNode.free(); stackEdge.free() }
            let color = UnsafeMutablePointer<UInt8>.allocate(capacity: count)  // 0 new, 1 on the stack, 2 finished
            color.initialize(repeating: 0, count: count)
            defer { color.deallocate() }
            let live = UnsafeMutablePointer<Bool>.allocate(capacity: count)
            live.initialize(repeating: false, count: count)
            var weighted = false
            // Back arcs; the lattice counts as cyclic only if one enters a live node (OpenFst searches the connected
            // lattice, where cycles among dead nodes are gone).
            var backTargets: [Int32] = []
            stackNode.append(0); stackEdge.append(0 == leaf ? edgeEnd[0] : edgeStart[0])
            color[0] = 1
            while stackNode.count > 0 {
                let top = stackNode[stackNode.count - 1]
                let e = stackEdge[stackEdge.count - 1]
                if e < edgeEnd[Int(top)] {
                    stackEdge[stackEdge.count - 1] = e + 1
                    let v = Int(edgeTarget[Int(e)])
                    guard follow(v) else { continue }
                    if color[v] == 0 {
                        color[v] = 1
                        stackNode.append(Int32(v))
                        stackEdge.append(v == leaf ? edgeEnd[v] : edgeStart[v])
                    } else if color[v] == 1 {
                        backTargets.append(Int32(v))
                    }
                    continue
                }
                let u = Int(top)
                color[u] = 2
                stackNode.count -= 1
                stackEdge.count -= 1
                finishing.append(top)
                var reaches = isGoal(u)
                if u != leaf {
                    for e in Int(edgeStart[u])..<Int(edgeEnd[u]) where live[Int(edgeTarget[e])] && follow(Int(edgeTarget[e])) {
                        reaches = true
                        let w = f.weights[Int(edgeArc[e])]
                        if w != 0 && w != .infinity { weighted = true }
                    }
                }
                live[u] = reaches
            }
            let cyclic = backTargets.contains { live[Int($0)] }
            return (finishing, live, cyclic, weighted)
        }

        /// Shortest distances from node 0 (at `rootDistance`) over live nodes in topological order — or, for
        /// `lifo`, last-in-first-out — keeping the first strictly better arrival. Calls `visit` on each node settled.
        func relax(rootDistance: Float, order: GrowableBuffer<Int32>, live: UnsafeMutablePointer<Bool>, lifo: Bool,
                   skipOutOf leaf: Int, visit: (Int, Float) -> Void) -> (parentNode: [Int32], parentArc: [Int32]) {
            let count = nodeState.count, f = fst.storage
            var distance = [Float](repeating: .infinity, count: count)
            var parentNode = [Int32](repeating: -1, count: count)
            var parentArc = [Int32](repeating: -1, count: count)
            distance[0] = rootDistance
            func settle(_ u: Int, _ improved: (Int) -> Void) {
                let d = distance[u]
                visit(u, d)
                guard u != leaf else { return }
                for e in Int(edgeStart[u])..<Int(edgeEnd[u]) {
                    let v = Int(edgeTarget[e])
                    guard live[v] else { continue }
                    let candidate = d + f.weights[Int(edgeArc[e])]
                    if candidate < distance[v] {
                        distance[v] = candidate; parentNode[v] = Int32(u); parentArc[v] = edgeArc[e]
                        improved(v)
                    }
                }
            }
            if lifo {
                var stack: [Int32] = [0]
                var queued = [Bool](repeating: false, count: count)
                queued[0] = true
                // Label-correcting search: a negative-weight cycle (never in WeTextProcessing's grammars, possible in
                // a damaged or hostile file) would improve distances forever. Stop after a generous number of
                // settles; `labels(to:)` then finds the parent cycle and the rewrite fails instead of hanging.
                var settles = 0
                let budget = max(1 << 20, 64 * count)
                while let top = stack.popLast() {
                    settles += 1
                    if settles > budget { break }
                    queued[Int(top)] = false
                    settle(Int(top)) { v in
                        if !queued[v] { queued[v] = true; stack.append(Int32(v)) }
                    }
                }
            } else {
                var k = order.count - 1
                while k >= 0 {
                    let u = Int(order[k])
                    k -= 1
                    if live[u] { settle(u) { _ in } }
                }
            }
            return (parentNode, parentArc)
        }

        /// The output labels on the parent chain from node 0 to `node`.
        /// nil when the parent chain loops (a negative-weight cycle stopped the search early).
        func labels(to node: Int, parentNode: [Int32], parentArc: [Int32]) -> [UInt8]? {
            var labels: [UInt8] = []
            var u = node
            var steps = 0
            while parentNode[u] >= 0 {
                steps += 1
                if steps > parentNode.count { return nil }
                let label = fst.storage.outputLabels[Int(parentArc[u])]
                if label > 0 { labels.append(UInt8(truncatingIfNeeded: label)) }
                u = Int(parentNode[u])
            }
            return labels.reversed()
        }

        /// Commits the prefix up to the latest cut before the frontier (all nodes of `frontier` are built), if there
        /// is one and the prefix's weights settle the search discipline (weighted: topological order).
        func commitPrefix(frontier: Int, root: Root, knownWeighted: Bool) -> Commit {
            let count = nodeState.count
            // Nodes that reach the frontier, by a backward search over the arcs.
            var incomingStart = [Int32](repeating: 0, count: count + 1)
            for e in 0..<edgeTarget.count { incomingStart[Int(edgeTarget[e]) + 1] += 1 }
            for v in 0..<count { incomingStart[v + 1] += incomingStart[v] }
            var fill = incomingStart
            var incoming = [Int32](repeating: 0, count: edgeTarget.count)
            for u in 0..<count {
                for e in Int(edgeStart[u])..<Int(edgeEnd[u]) {
                    let v = Int(edgeTarget[e])
                    incoming[Int(fill[v])] = Int32(u)
                    fill[v] += 1
                }
            }
            var reaches = [Bool](repeating: false, count: count)
            var queue: [Int32] = []
            for k in 0..<current.count { reaches[Int(current[k])] = true; queue.append(current[k]) }
            while let v = queue.popLast() {
                for k in Int(incomingStart[Int(v)])..<Int(incomingStart[Int(v) + 1]) where !reaches[Int(incoming[k])] {
                    reaches[Int(incoming[k])] = true
                    queue.append(incoming[k])
                }
            }
            // Every path into a position enters it by an arc that reads a byte. The latest position after the root
            // entered, on paths that reach the frontier, through exactly one node is a cut: all those paths run
            // through that node (its input-epsilon successors there come after it).
            let span = frontier - root.position
            var perPosition = [Int32](repeating: 0, count: span)
            var only = [Int32](repeating: -1, count: span)
            var entry = [Bool](repeating: false, count: count)
            for u in 0..<count where reaches[u] {
                for e in Int(edgeStart[u])..<Int(edgeEnd[u]) {
                    let v = Int(edgeTarget[e])
                    guard reaches[v], !entry[v], nodePosition[v] == nodePosition[u] + 1 else { continue }
                    entry[v] = true
                    let offset = Int(nodePosition[v]) - root.position
                    guard offset > 0 && offset < span else { continue }
                    perPosition[offset] += 1
                    only[offset] = Int32(v)
                }
            }
            guard let offset = (1..<max(1, span)).last(where: { perPosition[$0] == 1 }) else { return .notYet }
            let cut = Int(only[offset]), cutPosition = root.position + offset
            // The prefix: nodes before the cut's position, and the cut (a leaf here).
            let search = depthFirst(follow: { Int(nodePosition[$0]) < cutPosition || $0 == cut }, leaf: cut, isGoal: { $0 == cut })
            let finishing = search.finishing
            defer { finishing.free(); search.live.deallocate() }
            if search.cyclic { return .never }
            // An earlier window's weighted arcs already settled the discipline for the whole lattice.
            guard search.weighted || knownWeighted else { return .notYet }
            var cutDistance = Float.infinity
            let parents = relax(rootDistance: root.distance, order: finishing, live: search.live, lifo: false, skipOutOf: cut) { u, d in
                if u == cut { cutDistance = d }
            }
            guard cutDistance.isFinite else { return .notYet }
            guard let prefix = labels(to: cut, parentNode: parents.parentNode, parentArc: parents.parentArc) else { return .never }
            return .committed(prefix,
                              Root(state: nodeState[cut], position: cutPosition, distance: cutDistance))
        }

        /// The best path from the root to the end of the input. `knownWeighted`: an earlier window already had
        /// weighted live arcs, which decides the discipline for the whole lattice.
        func solveToEnd(root: Root, knownWeighted: Bool) -> [UInt8]? {
            let n = input.count, f = fst.storage
            func finalWeight(_ u: Int) -> Float {
                Int(nodePosition[u]) == n ? f.finals[Int(nodeState[u])] : .infinity
            }
            let search = depthFirst(follow: { _ in true }, leaf: -1, isGoal: { finalWeight($0).isFinite })
            let finishing = search.finishing
            defer { finishing.free(); search.live.deallocate() }
            guard search.live[0] else { return nil }
            if search.cyclic {
                // Not met with WeTextProcessing's grammars: liveness from the finishing order is then approximate.
                let exact = liveNodes(isGoal: { finalWeight($0).isFinite })
                for u in 0..<nodeState.count { search.live[u] = exact[u] }
            }
            var best = -1
            var bestWeight = Float.infinity
            // LIFO when no live arc is weighted; a cyclic lattice is also searched this way (label-correcting: the
            // weight is still the minimum).
            let lifo = (!search.weighted && !knownWeighted) || search.cyclic
            let parents = relax(rootDistance: root.distance, order: finishing, live: search.live, lifo: lifo, skipOutOf: -1) { u, d in
                let final = finalWeight(u)
                if final.isFinite && d + final < bestWeight { bestWeight = d + final; best = u }
            }
            guard best >= 0 else { return nil }
            return labels(to: best, parentNode: parents.parentNode, parentArc: parents.parentArc)
        }

        /// Nodes from which a goal node is reachable (reverse search), for cyclic lattices.
        func liveNodes(isGoal: (Int) -> Bool) -> [Bool] {
            let count = nodeState.count
            var incoming = [[Int32]](repeating: [], count: count)
            for u in 0..<count { for e in Int(edgeStart[u])..<Int(edgeEnd[u]) { incoming[Int(edgeTarget[e])].append(Int32(u)) } }
            var live = (0..<count).map(isGoal)
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
        bigger.initialize(from: base, count: count)
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
