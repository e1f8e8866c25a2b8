/// Applies a byte-labelled transducer to a string exactly as pynini's `shortestpath(string @ fst).string()` does:
/// the input is read as its UTF-8 bytes, the composition of that linear acceptor with the transducer is searched for
/// its lowest-weight accepting path (tropical semiring: weights add along a path in 32-bit floats, the minimum
/// wins), and the output labels of that path — input-epsilon insertions included, epsilons dropped — are the result.
///
/// Equal-weight paths are common in WeTextProcessing's grammars ("1001" as a year or as a cardinal), so the choice
/// among them follows OpenFst step by step rather than any search order of our own:
/// - the lattice's states are (input position, FST state) pairs; a state's arcs are the FST state's arcs that read
///   nothing or the next input byte, in the FST's own arc order (what composition with a sorted matcher yields);
/// - the lattice is acyclic, so `ShortestPath`'s automatic queue visits states in the topological order of a
///   depth-first search from the start state (reverse finishing order, arcs taken in order);
/// - a state's distance changes only when a strictly smaller one arrives, so the first predecessor in that order,
///   and its first arc, wins a tie; the accepting state is chosen the same way.
///
/// The lattice is built per call (nodes and arcs in flat arrays); the FST is shared and immutable.
public struct StringRewriter: Sendable {
    public let fst: StdVectorFST

    public init(fst: StdVectorFST) { self.fst = fst }

    /// The output of the best path for `input`, or nil when the transducer accepts no path for it.
    public func rewrite(_ input: String) -> String? {
        rewrite(bytes: Array(input.utf8)).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The output bytes of the best path for the input bytes, or nil when no path accepts them.
    public func rewrite(bytes input: [UInt8]) -> [UInt8]? {
        var lattice = Lattice(fst: fst, estimatedNodes: input.count * 16 + 64)
        lattice.expand(input)
        return lattice.bestOutput(inputLength: input.count)
    }

    struct Lattice {
        let fst: StdVectorFST
        // Nodes: one per (position, state) reached from the start.
        var nodeState: [Int32] = []
        var nodePosition: [Int32] = []
        // Arcs of node u: edgeStart[u]..<edgeEnd[u].
        var edgeStart: [Int32] = []
        var edgeEnd: [Int32] = []
        var edgeTarget: [Int32] = []
        var edgeArc: [Int32] = []
        // Per-parity maps from FST state to its node at the current/next position (valid when the stamp matches).
        var stamp: [[Int32]]
        var slot: [[Int32]]

        init(fst: StdVectorFST, estimatedNodes: Int) {
            self.fst = fst
            stamp = [[Int32](repeating: -1, count: fst.stateCount), [Int32](repeating: -1, count: fst.stateCount)]
            slot = [[Int32](repeating: 0, count: fst.stateCount), [Int32](repeating: 0, count: fst.stateCount)]
            nodeState.reserveCapacity(estimatedNodes); nodePosition.reserveCapacity(estimatedNodes)
            edgeStart.reserveCapacity(estimatedNodes); edgeEnd.reserveCapacity(estimatedNodes)
            edgeTarget.reserveCapacity(estimatedNodes * 2); edgeArc.reserveCapacity(estimatedNodes * 2)
        }

        mutating func node(_ state: Int32, at position: Int) -> Int32 {
            let parity = position & 1
            if stamp[parity][Int(state)] == Int32(position) { return slot[parity][Int(state)] }
            let index = Int32(nodeState.count)
            nodeState.append(state)
            nodePosition.append(Int32(position))
            edgeStart.append(0)
            edgeEnd.append(0)
            stamp[parity][Int(state)] = Int32(position)
            slot[parity][Int(state)] = index
            return index
        }

        /// Creates every node reachable from the start. Positions are expanded one after another — every node of a
        /// position, including those its input-epsilon arcs create, before the next — so the per-parity state maps
        /// only ever hold the current and the next position.
        mutating func expand(_ input: [UInt8]) {
            var current: [Int32] = [node(fst.start, at: 0)]
            var next: [Int32] = []
            for position in 0...input.count {
                var head = 0
                let label: Int32 = position < input.count ? Int32(input[position]) : -1
                while head < current.count {
                    expandNode(Int(current[head]), position: position, label: label, current: &current, next: &next)
                    head += 1
                }
                swap(&current, &next)
                next.removeAll(keepingCapacity: true)
                if current.isEmpty { break }
            }
        }

        /// Records node `u`'s arcs (the FST state's arcs reading nothing or `label`, in arc order), creating the
        /// nodes they reach: same-position ones join `current`, next-position ones `next`.
        mutating func expandNode(_ u: Int, position: Int, label: Int32, current: inout [Int32], next: inout [Int32]) {
            let state = Int(nodeState[u])
            edgeStart[u] = Int32(edgeTarget.count)
            func follow(_ a: Int, consuming: Bool) {
                let before = nodeState.count
                let v = node(fst.nextStates[a], at: consuming ? position + 1 : position)
                if nodeState.count > before {
                    if consuming { next.append(v) } else { current.append(v) }
                }
                edgeTarget.append(v)
                edgeArc.append(Int32(a))
            }
            let rowStart = Int(fst.arcStart[state]), rowEnd = Int(fst.arcStart[state + 1])
            if fst.isInputSorted {
                let epsilonEnd = rowStart + Int(fst.epsilonCount[state])
                for a in rowStart..<epsilonEnd { follow(a, consuming: false) }
                if label >= 0 {
                    var lo = epsilonEnd, hi = rowEnd
                    while lo < hi {
                        let mid = (lo + hi) >> 1
                        if fst.inputLabels[mid] < label { lo = mid + 1 } else { hi = mid }
                    }
                    var a = lo
                    while a < rowEnd && fst.inputLabels[a] == label {
                        follow(a, consuming: true)
                        a += 1
                    }
                }
            } else {
                for a in rowStart..<rowEnd {
                    let i = fst.inputLabels[a]
                    if i == 0 { follow(a, consuming: false) } else if i == label { follow(a, consuming: true) }
                }
            }
            edgeEnd[u] = Int32(edgeTarget.count)
        }

        /// Depth-first finishing order from the start node (arcs in order), and whether a back arc (a cycle) was met.
        func finishingOrder() -> (order: [Int32], cyclic: Bool) {
            let count = nodeState.count
            // 0 unvisited, 1 on the stack, 2 finished.
            var color = [UInt8](repeating: 0, count: count)
            var order: [Int32] = []
            order.reserveCapacity(count)
            var cyclic = false
            var stack: [(node: Int32, edge: Int32)] = [(0, edgeStart[0])]
            color[0] = 1
            while let top = stack.last {
                if top.edge < edgeEnd[Int(top.node)] {
                    stack[stack.count - 1].edge += 1
                    let v = edgeTarget[Int(top.edge)]
                    switch color[Int(v)] {
                    case 0:
                        color[Int(v)] = 1
                        stack.append((v, edgeStart[Int(v)]))
                    case 1: cyclic = true
                    default: break
                    }
                } else {
                    color[Int(top.node)] = 2
                    order.append(top.node)
                    stack.removeLast()
                }
            }
            return (order, cyclic)
        }

        /// The best path's output. OpenFst runs `ShortestPath` on the connected lattice (states that cannot reach
        /// the end removed) with its automatic queue: last-in-first-out when every remaining arc weighs 0 (the
        /// verbalizers), otherwise the topological order of the depth-first search (the taggers). The live part is
        /// computed here first so that both the choice of queue and the tie-breaking see what OpenFst sees.
        func bestOutput(inputLength: Int) -> [UInt8]? {
            let count = nodeState.count
            let (finishing, cyclic) = finishingOrder()
            var finals = [Float](repeating: .infinity, count: count)
            var live = [Bool](repeating: false, count: count)
            var weighted = false
            // Finishing order visits every node after all nodes it reaches (when acyclic).
            for u in finishing {
                if nodePosition[Int(u)] == Int32(inputLength) { finals[Int(u)] = fst.finals[Int(nodeState[Int(u)])] }
                var reaches = finals[Int(u)].isFinite
                for e in Int(edgeStart[Int(u)])..<Int(edgeEnd[Int(u)]) where live[Int(edgeTarget[e])] {
                    reaches = true
                    let w = fst.weights[Int(edgeArc[e])]
                    if w != 0 && w != .infinity { weighted = true }
                }
                live[Int(u)] = reaches
            }
            guard live[0] else { return nil }
            var distance = [Float](repeating: .infinity, count: count)
            var parentNode = [Int32](repeating: -1, count: count)
            var parentEdge = [Int32](repeating: -1, count: count)
            distance[0] = 0
            var best: Int32 = -1
            var bestWeight = Float.infinity

            /// One dequeued state: the final check, then each live arc relaxed on strict improvement.
            func settle(_ u: Int32, onImproved: (Int32) -> Void) {
                let d = distance[Int(u)]
                if finals[Int(u)].isFinite, d + finals[Int(u)] < bestWeight {
                    bestWeight = d + finals[Int(u)]
                    best = u
                }
                for e in Int(edgeStart[Int(u)])..<Int(edgeEnd[Int(u)]) {
                    let v = Int(edgeTarget[e])
                    guard live[v] else { continue }
                    let candidate = d + fst.weights[Int(edgeArc[e])]
                    if candidate < distance[v] {
                        distance[v] = candidate
                        parentNode[v] = u
                        parentEdge[v] = Int32(e)
                        onImproved(Int32(v))
                    }
                }
            }

            if !weighted || cyclic {
                // LIFO discipline (a cyclic lattice — no WeTextProcessing grammar yields one — is also searched this
                // way: label-correcting, so the weight is still the minimum).
                var stack: [Int32] = [0]
                var queued = [Bool](repeating: false, count: count)
                queued[0] = true
                while let u = stack.popLast() {
                    queued[Int(u)] = false
                    settle(u) { v in
                        if !queued[Int(v)] {
                            queued[Int(v)] = true
                            stack.append(v)
                        }
                    }
                }
            } else {
                for u in finishing.reversed() where live[Int(u)] { settle(u) { _ in } }
            }
            guard best >= 0 else { return nil }
            var labels: [UInt8] = []
            var u = best
            while parentNode[Int(u)] >= 0 {
                let label = fst.outputLabels[Int(edgeArc[Int(parentEdge[Int(u)])])]
                if label > 0 { labels.append(UInt8(truncatingIfNeeded: label)) }
                u = parentNode[Int(u)]
            }
            return labels.reversed()
        }
    }
}
