@testable import IndexTTSModels
import IndexTTSTestSupport
import Testing

/// ``UnifiedVoice/beamSlots(parents:slots:)``: where beam search keeps its beams' keys and values without moving them
/// into beam order. A simulated cache (each batch item a list of tokens), reordered by the returned sources and then
/// appended to at the returned slots, holds after every step exactly each beam's own history, over random parents,
/// permutations and rotations; a permutation copies nothing and a parent shared by d new beams costs d − 1 copies, none
/// of them from an item that is itself overwritten.
struct BeamSlotsTests {
    @Test(arguments: [1, 2, 3, 4, 5])
    func slotsHoldEveryBeamsHistory(beams: Int) {
        let steps = 300
        let draws = TestRandom.integers(beams * steps, seed: UInt64(40 + beams), modulus: Int64(beams))
        var slots = Array(0..<beams)
        var items = Array(repeating: [Int](), count: beams)  // the cache's batch items
        var histories = Array(repeating: [Int](), count: beams)  // beam order
        var permutations = 0
        for step in 0..<steps {
            var parents = (0..<beams).map { Int(abs(draws[step * beams + $0])) }
            if step % 3 == 0 { parents = Array((0..<beams).reversed()) }
            if step % 5 == 1 { parents = (0..<beams).map { ($0 + step) % beams } }
            let (next, sources) = UnifiedVoice.beamSlots(parents: parents, slots: slots)
            #expect(Set(next) == Set(0..<beams), "step \(step): items \(next)")
            let copies = (0..<beams).filter { sources[$0] != $0 }
            #expect(copies.count == beams - Set(parents).count, "step \(step): parents \(parents), sources \(sources)")
            #expect(copies.allSatisfy { !copies.contains(sources[$0]) }, "step \(step): sources \(sources)")
            if Set(parents).count == beams { permutations += 1 }
            items = sources.map { items[$0] }
            histories = parents.map { histories[$0] }
            for b in 0..<beams {
                items[next[b]].append(step * 10 + b)
                histories[b].append(step * 10 + b)
            }
            slots = next
            for b in 0..<beams where items[slots[b]] != histories[b] {
                Issue.record("step \(step): beam \(b)'s item \(slots[b]) does not hold its history")
            }
        }
        #expect(permutations >= steps / 3)
    }
}
