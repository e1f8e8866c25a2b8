import IndexTTSTestSupport
import IndexTTSText
import Testing

/// Segmentation against IndexTTS2's `TextTokenizer.split_segments_by_token`, and the two defects we fix.
struct TextSegmenterTests {
    struct Expected: Decodable {
        struct Case: Decodable {
            let tokens: [String]
            let max: Int
            let upstream: [[String]]
            let exact: Bool
        }
        let segmentation: [Case]
    }

    static let cases = try! Fixtures.json("text/expected.json", as: Expected.self).segmentation

    @Test func matchesUpstreamWhereUpstreamIsCorrect() throws {
        let exact = Self.cases.filter(\.exact)
        #expect(exact.count >= 10)
        for c in exact {
            let ours = try TextSegmenter(maxTokensPerSegment: c.max).split(c.tokens)
            #expect(ours == c.upstream, "max \(c.max): \(c.tokens.prefix(12))…")
        }
    }

    /// Everywhere (including the inputs that trip upstream): every token exactly once and in order, no segment over
    /// the limit, and no one-token segment unless a sentence really is one token.
    @Test func invariantsHoldOnEveryCase() throws {
        for c in Self.cases {
            let segments = try TextSegmenter(maxTokensPerSegment: c.max).split(c.tokens)
            #expect(segments.flatMap { $0 } == c.tokens, "max \(c.max): tokens lost or repeated")
            #expect(segments.allSatisfy { $0.count <= c.max && !$0.isEmpty })
            #expect(!segments.dropLast().contains { $0.count == 1 }, "max \(c.max): \(segments.map(\.count))")
        }
    }

    @Test func apostropheAfterAnEnderIsNotRepeated() throws {
        let tokens = ["▁HE", "▁SAID", "▁'", "▁YES", ".", "▁'", "▁THEN", "▁NO", "."]
        let segments = try TextSegmenter(maxTokensPerSegment: 5).split(tokens)
        #expect(segments.flatMap { $0 } == tokens)
        #expect(segments.first?.last == "▁'")
    }

    @Test func overLongRunsAreCutEvenlyAtWordStarts() throws {
        // 13 tokens without punctuation, limit 12: upstream gives [12, 1]; we give two even halves at a word start.
        let tokens = (0..<13).map { $0 % 3 == 0 ? "▁W\($0)" : "x\($0)" }
        let segments = try TextSegmenter(maxTokensPerSegment: 12).split(tokens)
        #expect(segments.map(\.count) == [6, 7])
        #expect(segments[1].first?.hasPrefix("▁") == true)
    }

    @Test func limitsAreValidated() {
        #expect(throws: TextError.self) { try TextSegmenter(maxTokensPerSegment: 1) }
        #expect((try? TextSegmenter().split([])) == [])
    }
}
