import Foundation

/// The default voice's text front end: Chinese only (the voice reads nothing else), full-width punctuation kept for
/// its segmentation, WeTextProcessing's Chinese grammars injected as `grammar`.
///
/// - ``ReadingMode/corrected`` (default): `<字|读音>` annotations are set aside and come back as their readings
///   (``IndexTTSTextNormalizer/annotationReading(_:)``; tone-numbered pinyin is read by the phonemizer), the glossary
///   is applied, then the Chinese reading layer (``ReadingLayer/chinese``) reads the spans it recognises, and
///   tone-numbered pinyin in the text (`xuan4`) is kept from the grammars — the same order as IndexTTS2's front end.
/// - ``ReadingMode/upstream``: the glossary, then the grammars alone — what the voice read before the reading layer
///   (annotations are not recognised: the grammars read them as text).
public struct MandarinFrontEnd: Sendable {
    public var glossary: Glossary
    public var readings: ReadingMode
    let grammar: @Sendable (String) -> String

    public init(glossary: Glossary = Glossary(), readings: ReadingMode = .corrected, grammar: @escaping @Sendable (String) -> String) {
        self.glossary = glossary
        self.readings = readings
        self.grammar = grammar
    }

    public func normalize(_ input: String) -> String { normalizeExplained(input).text }

    /// The normalised text, the spans the reading layer read and the user's overrides (annotations, glossary terms).
    public func normalizeExplained(_ input: String) -> IndexTTSTextNormalizer.Normalized {
        guard readings == .corrected else {
            var text = input
            var hits: [(term: String, reading: String)] = []
            if !glossary.isEmpty { (text, hits) = glossary.applyExplained(text, language: .zh) }
            return IndexTTSTextNormalizer.Normalized(text: grammar(text), language: .zh, spans: [],
                                                     overrides: IndexTTSTextNormalizer.locate(hits, in: input, excluding: []))
        }
        let (protected, annotations) = IndexTTSTextNormalizer.protect(input, pattern: IndexTTSTextNormalizer.annotation) { index in
            "PRONPLACEHOLDER\(IndexTTSTextNormalizer.alphabeticIndex(index))PRONPLACEHOLDER"
        }
        var text = protected
        var hits: [(term: String, reading: String)] = []
        if !glossary.isEmpty { (text, hits) = glossary.applyExplained(text, language: .zh) }
        let shielded = ReadingLayer.chinese.shield(text)
        let (withPinyin, syllables) = IndexTTSTextNormalizer.protect(shielded.text, pattern: IndexTTSTextNormalizer.strictPinyin) { index in
            "PINYINPLACEHOLDER\(IndexTTSTextNormalizer.alphabeticIndex(index))PINYINPLACEHOLDER"
        }
        var result = grammar(withPinyin)
        for (key, syllable) in syllables { result = result.replacingOccurrences(of: key, with: syllable) }
        result = shielded.restore(result)
        for (key, original) in annotations {
            result = result.replacingOccurrences(of: key, with: IndexTTSTextNormalizer.annotationReading(original))
        }
        let overrides = IndexTTSTextNormalizer.annotationSpans(in: input)
            + IndexTTSTextNormalizer.locate(hits, in: input, excluding: annotations.map { $0.1 })
        return IndexTTSTextNormalizer.Normalized(text: result, language: .zh, spans: shielded.spans,
                                                 overrides: overrides.sorted { $0.offset < $1.offset })
    }
}

extension MandarinFrontEnd {
    /// WeTextProcessing's Chinese grammars from the prepared folder `directory` with `options` (the default voice
    /// keeps full-width punctuation); a text the grammars cannot read passes through.
    public static func weText(directory: String, options: WeTextNormalizer.ChineseOptions, glossary: Glossary = Glossary(),
                              readings: ReadingMode = .corrected) throws -> MandarinFrontEnd {
        let chinese = try WeTextNormalizer.chinese(directory: directory, options: options)
        return MandarinFrontEnd(glossary: glossary, readings: readings, grammar: { (try? chinese.normalize($0)) ?? $0 })
    }
}
