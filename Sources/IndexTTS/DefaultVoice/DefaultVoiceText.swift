import Foundation

/// How the default voice cuts text: at punctuation, with a pause whose length follows the mark (the reference
/// splits at 、，。！？ with a fixed 0.2 s), and at most `maxCharacters` per piece so that no segment exceeds the
/// acoustic model's position table.
public enum DefaultVoiceText {
    public struct Piece: Sendable, Equatable {
        public var text: String
        /// Silence after this piece, in seconds.
        public var pause: Double
    }

    static let clausePause = 0.2, sentencePause = 0.3, paragraphPause = 0.55

    public static func pieces(_ text: String, maxCharacters: Int = 60) -> [Piece] {
        var pieces: [Piece] = []
        var current = ""
        func flush(_ pause: Double) {
            let trimmed = current.trimmingCharacters(in: .whitespaces)
            if !trimmed.isEmpty {
                pieces.append(Piece(text: trimmed, pause: pause))
            } else if let last = pieces.indices.last {
                pieces[last].pause = max(pieces[last].pause, pause)
            }
            current = ""
        }
        for c in text {
            switch c {
            case "\n", "\r":
                flush(paragraphPause)
            case "。", "！", "？", "!", "?", "；", ";", "…":
                current.append(c)
                flush(sentencePause)
            case "，", "、", ",", "：", ":":
                current.append(c)
                flush(clausePause)
            default:
                current.append(c)
                if current.count >= maxCharacters { flush(0.05) }
            }
        }
        flush(0)
        if let last = pieces.indices.last { pieces[last].pause = 0 }
        return pieces
    }
}
