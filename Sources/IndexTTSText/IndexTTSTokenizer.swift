/// IndexTTS2's text tokenizer (`indextts/utils/front.py::TextTokenizer.encode` after normalisation): every CJK
/// character is split off by spaces, the string is upper-cased (English and pinyin are modelled upper-case), and
/// the SentencePiece BPE model encodes it. Single-character input skips the pre-tokenizer, as upstream does.
public struct IndexTTSTokenizer: Sendable {
    public let model: SentencePieceModel

    public init(model: SentencePieceModel) {
        self.model = model
    }

    public init(modelPath: String) throws {
        model = try SentencePieceModel(contentsOf: modelPath)
    }

    /// Text ids (without start/stop ids).
    public func encode(_ text: String) -> [Int] { model.encode(pretokenize(text)) }

    /// Piece strings, as upstream `tokenize`.
    public func tokenize(_ text: String) -> [String] { model.encodeAsPieces(pretokenize(text)) }

    /// `tokenize_by_CJK_char` (upper-casing) unless the stripped text is one character.
    public func pretokenize(_ text: String) -> String {
        // Upstream: `len(text.strip()) == 1`, a count of code points.
        if text.isEmpty || Self.trimmed(text[...]).unicodeScalars.count == 1 { return text }
        return Self.splitCJK(text)
    }

    /// What Python's `str.strip()` removes: Unicode whitespace and the separators U+001C–U+001F.
    static let whitespace = CharacterSet.whitespacesAndNewlines.union(CharacterSet(charactersIn: "\u{1C}\u{1D}\u{1E}\u{1F}"))

    /// Python's `str.strip()`: only the ends are looked at.
    static func trimmed(_ text: Substring) -> Substring {
        let scalars = text.unicodeScalars
        guard let first = scalars.firstIndex(where: { !whitespace.contains($0) }),
              let last = scalars.lastIndex(where: { !whitespace.contains($0) }) else { return "" }
        return Substring(scalars[first...last])
    }

    /// Spaces around every CJK character, whitespace-trimmed pieces joined by one space, upper-cased.
    public static func splitCJK(_ text: String) -> String {
        var parts: [String] = []
        var current = ""
        for scalar in trimmed(text[...]).unicodeScalars {
            if isCJK(scalar) {
                parts.append(current)
                parts.append(String(scalar))
                current = ""
            } else {
                current.unicodeScalars.append(scalar)
            }
        }
        parts.append(current)
        var out = ""
        out.reserveCapacity(text.utf8.count * 2)
        for part in parts {
            let piece = trimmed(part[...])
            guard !piece.isEmpty else { continue }
            if !out.isEmpty { out += " " }
            // Ideographs, kana and hangul syllables have no case: upper-casing only what can change.
            if piece.unicodeScalars.count == 1, let scalar = piece.unicodeScalars.first,
               (0x2E80...0x9FFF).contains(scalar.value) || (0xAC00...0xD7AF).contains(scalar.value)
                || (0x20000...0x2FFFF).contains(scalar.value) {
                out += piece
            } else {
                out += piece.uppercased()
            }
        }
        return out
    }

    /// The CJK ranges of upstream `tokenize_by_CJK_char` (from NLTK).
    public static func isCJK(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x1100...0x11FF, 0x2E80...0xA4CF, 0xA840...0xD7AF, 0xF900...0xFAFF, 0xFE30...0xFE4F, 0xFF65...0xFFDC,
             0x20000...0x2FFFF:
            return true
        default:
            return false
        }
    }
}

import Foundation
