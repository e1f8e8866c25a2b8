/// Read-only Darts-clone double-array trie, the structure inside SentencePiece's `precompiled_charsmap`:
/// 32-bit units encoding a label, a leaf flag and an offset to the children; leaves hold a value.
struct DoubleArrayTrie: Sendable {
    let units: [UInt32]

    @inline(__always) private static func hasLeaf(_ unit: UInt32) -> Bool { (unit >> 8) & 1 == 1 }
    @inline(__always) private static func value(_ unit: UInt32) -> Int { Int(unit & ((1 << 31) - 1)) }
    @inline(__always) private static func label(_ unit: UInt32) -> UInt32 { unit & ((1 << 31) | 0xFF) }
    @inline(__always) private static func offset(_ unit: UInt32) -> Int {
        Int((unit >> 10) << ((unit & (1 << 9)) >> 6))
    }

    /// The longest key that prefixes `bytes[start...]`: (value, length in bytes), or nil.
    func longestPrefix(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> (value: Int, length: Int)? {
        guard !units.isEmpty else { return nil }
        var position = Self.offset(units[0])
        var best: (Int, Int)?
        var i = start
        while i < bytes.count {
            let byte = bytes[i]
            position ^= Int(byte)
            guard position >= 0, position < units.count else { return best }
            let unit = units[position]
            guard Self.label(unit) == UInt32(byte) else { return best }
            position ^= Self.offset(unit)
            guard position >= 0, position < units.count else { return best }
            if Self.hasLeaf(unit) { best = (Self.value(units[position]), i - start + 1) }
            i += 1
        }
        return best
    }
}
