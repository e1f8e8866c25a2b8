/// SentencePiece's text normalisation as its encoder applies it: user-defined symbols pass through untouched,
/// everything else is rewritten by the longest match in the precompiled character map (NFKC-style rules), then
/// whitespace is trimmed, collapsed and escaped to "▁", with a dummy "▁" prefix.
struct SentencePieceNormalizer: Sendable {
    static let space: [UInt8] = [0xE2, 0x96, 0x81]  // U+2581 ▁

    let trie: DoubleArrayTrie
    /// Replacement strings, NUL-terminated, addressed by trie values.
    let replacements: [UInt8]
    let addDummyPrefix: Bool
    let removeExtraWhitespaces: Bool
    let escapeWhitespaces: Bool
    let userDefined: PrefixMatcher

    init(spec: SPNormalizerSpec?, userDefined: PrefixMatcher, path: String) throws {
        let blob = [UInt8](spec?.precompiledCharsmap ?? Data())
        if blob.isEmpty {
            trie = DoubleArrayTrie(units: [])
            replacements = []
        } else {
            guard blob.count >= 4 else { throw TextError.invalidModel(path: path, reason: "precompiled_charsmap too short") }
            let trieSize = Int(UInt32(blob[0]) | UInt32(blob[1]) << 8 | UInt32(blob[2]) << 16 | UInt32(blob[3]) << 24)
            guard trieSize % 4 == 0, 4 + trieSize <= blob.count else {
                throw TextError.invalidModel(path: path, reason: "precompiled_charsmap trie size \(trieSize) exceeds \(blob.count) bytes")
            }
            trie = DoubleArrayTrie(units: stride(from: 4, to: 4 + trieSize, by: 4).map { i in
                UInt32(blob[i]) | UInt32(blob[i + 1]) << 8 | UInt32(blob[i + 2]) << 16 | UInt32(blob[i + 3]) << 24
            })
            replacements = Array(blob[(4 + trieSize)...])
        }
        addDummyPrefix = spec?.addDummyPrefix ?? true
        removeExtraWhitespaces = spec?.removeExtraWhitespaces ?? true
        escapeWhitespaces = spec?.escapeWhitespaces ?? true
        self.userDefined = userDefined
    }

    /// The normalised prefix of `bytes[start...]` and how many input bytes it consumed.
    func normalizePrefix(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> (ArraySlice<UInt8>, Int) {
        if let length = userDefined.longestMatch(bytes, from: start) {
            return (ArraySlice(bytes[start..<(start + length)]), length)
        }
        if let (value, length) = trie.longestPrefix(bytes, from: start), value < replacements.count {
            var end = value
            while end < replacements.count && replacements[end] != 0 { end += 1 }
            return (replacements[value..<end], length)
        }
        let length = UTF8Scalar.length(bytes, at: start)
        if length == 0 { return ([0xEF, 0xBF, 0xBD], 1) }  // malformed UTF-8 → U+FFFD
        return (ArraySlice(bytes[start..<(start + length)]), length)
    }

    /// Normalised UTF-8 bytes of `text`.
    func normalize(_ text: String) -> [UInt8] {
        var input = Array(text.utf8)
        return input.withUnsafeMutableBufferPointer { buffer in
            let bytes = UnsafeBufferPointer(buffer)
            var position = 0
            if removeExtraWhitespaces {
                while position < bytes.count {
                    let (piece, consumed) = normalizePrefix(bytes, from: position)
                    guard piece.elementsEqual([0x20]) else { break }
                    position += consumed
                }
            }
            var output: [UInt8] = []
            guard position < bytes.count else { return output }
            output.reserveCapacity(bytes.count * 2)
            func addSpace() { output += escapeWhitespaces ? Self.space : [0x20] }
            if addDummyPrefix { addSpace() }
            var previousWasSpace = removeExtraWhitespaces
            while position < bytes.count {
                var (piece, consumed) = normalizePrefix(bytes, from: position)
                if previousWasSpace { while piece.first == 0x20 { piece = piece.dropFirst() } }
                if !piece.isEmpty {
                    for byte in piece {
                        if escapeWhitespaces && byte == 0x20 { output += Self.space } else { output.append(byte) }
                    }
                    previousWasSpace = piece.last == 0x20
                }
                position += consumed
                if !removeExtraWhitespaces { previousWasSpace = false }
            }
            if removeExtraWhitespaces {
                let trailing = escapeWhitespaces ? Self.space : [0x20]
                while output.count >= trailing.count && Array(output.suffix(trailing.count)) == trailing {
                    output.removeLast(trailing.count)
                }
            }
            return output
        }
    }
}

/// Byte-level longest-match over a fixed set of strings (user-defined pieces).
struct PrefixMatcher: Sendable {
    private let byFirstByte: [UInt8: [[UInt8]]]

    init(_ strings: [String]) {
        var table: [UInt8: [[UInt8]]] = [:]
        for s in strings where !s.isEmpty {
            let bytes = Array(s.utf8)
            table[bytes[0], default: []].append(bytes)
        }
        byFirstByte = table.mapValues { $0.sorted { $0.count > $1.count } }
    }

    /// Length in bytes of the longest string that prefixes `bytes[start...]`.
    func longestMatch(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
        guard start < bytes.count, let candidates = byFirstByte[bytes[start]] else { return nil }
        for candidate in candidates where start + candidate.count <= bytes.count {
            var matches = true
            for (k, b) in candidate.enumerated() where bytes[start + k] != b { matches = false; break }
            if matches { return candidate.count }
        }
        return nil
    }
}

/// UTF-8 scalar boundaries.
enum UTF8Scalar {
    /// Byte length of the valid scalar starting at `i`, or 0 if the bytes there are malformed.
    static func length(_ bytes: UnsafeBufferPointer<UInt8>, at i: Int) -> Int {
        let lead = bytes[i]
        let n: Int
        switch lead {
        case 0x00...0x7F: return 1
        case 0xC2...0xDF: n = 2
        case 0xE0...0xEF: n = 3
        case 0xF0...0xF4: n = 4
        default: return 0
        }
        guard i + n <= bytes.count else { return 0 }
        for k in 1..<n where bytes[i + k] & 0xC0 != 0x80 { return 0 }
        // Overlong, surrogate and out-of-range forms.
        if n == 3 && lead == 0xE0 && bytes[i + 1] < 0xA0 { return 0 }
        if n == 3 && lead == 0xED && bytes[i + 1] >= 0xA0 { return 0 }
        if n == 4 && lead == 0xF0 && bytes[i + 1] < 0x90 { return 0 }
        if n == 4 && lead == 0xF4 && bytes[i + 1] >= 0x90 { return 0 }
        return n
    }
}

import Foundation
