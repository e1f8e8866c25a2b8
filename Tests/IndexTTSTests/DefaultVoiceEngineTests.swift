import Foundation
import IndexTTS
import IndexTTSAudio
import IndexTTSModels
import IndexTTSTestSupport
import IndexTTSText
import Testing

/// The default voice end to end (weights from cache_hub, fetched by scripts/fetch-default-voice.sh): presets move
/// measured prosody the way EmotionPreset documents, reference clips transfer prosody, bad requests are named.
struct DefaultVoiceEngineTests {
    static let engine = Result { try DefaultVoiceEngine.load(cache: ModelCache(root: Fixtures.cache(""))) }
    static let text = "今天天气很好，我们一起去公园散步吧。明天早上八点在学校门口集合，请大家准时到达。"
    static let neutral = Result { try engine.get().synthesize(SynthesisRequest(text: text)) }

    @Test func neutralSpeechMatchesTheCalibratedBaseline() throws {
        let result = try Self.neutral.get()
        #expect(result.sampleRate == 24000 && result.audioSeconds > 4 && result.audioSeconds < 12)
        #expect(result.timings.map(\.stage) == ["frontend", "acoustic", "vocoder"] && result.segments == 4)
        #expect(result.timeToFirstAudio <= result.totalSeconds && result.realTimeFactor > 0)
        let m = try ProsodyTransfer.measure(result.samples, sampleRate: 24000)
        let b = ProsodyTransfer.baseline
        #expect(abs(m.log2PitchMean - b.log2PitchMean) < 0.05)
        #expect(abs(m.log2PitchDeviation - b.log2PitchDeviation) < 0.05)
        #expect(abs(m.syllablesPerSecond - b.syllablesPerSecond) < 0.6)
        #expect(abs(m.loudness - b.loudness) < 1.5)
    }

    static let shortText = "今天天气很好，我们一起去公园散步吧。"
    static let shortNeutral = Result { try engine.get().synthesize(SynthesisRequest(text: shortText)) }

    @Test(arguments: EmotionPreset.all.map(\.id))
    func presetMovesProsodyAsDocumented(_ id: String) throws {
        let preset = try #require(EmotionPreset.named(id))
        let neutral = try Self.shortNeutral.get()
        let styled = try Self.engine.get().synthesize(SynthesisRequest(text: Self.shortText, emotion: .preset(id, strength: 1)))
        let a = try ProsodyTransfer.measure(neutral.samples, sampleRate: 24000)
        let b = try ProsodyTransfer.measure(styled.samples, sampleRate: 24000)
        let effects = preset.effects
        let pitch = b.log2PitchMean - a.log2PitchMean, time = styled.audioSeconds / neutral.audioSeconds - 1
        let loudness = b.loudness - a.loudness
        func direction(_ x: Double, _ dead: Double) -> Int { x > dead ? 1 : (x < -dead ? -1 : 0) }
        if effects.pitch != 0 { #expect(direction(pitch, 0.02) == effects.pitch, "\(id): pitch moved \(pitch) octaves") }
        if effects.speakingTime != 0 { #expect(direction(time, 0.015) == effects.speakingTime, "\(id): time changed \(time)") }
        if effects.loudness != 0 { #expect(direction(loudness, 0.2) == effects.loudness, "\(id): loudness moved \(loudness) LU") }
        #expect(styled.appliedControls["pitch_shift"] != neutral.appliedControls["pitch_shift"])
    }

    /// A low-pitched male reference (CMU ARCTIC) pulls the voice's pitch down; speed composes with it.
    @Test func referenceClipTransfersPitchLevel() throws {
        let clip = try AudioDecoder.decode(path: Fixtures.path("audio/speech/arctic_a0007.wav"))
        var request = SynthesisRequest(text: Self.text)
        request.emotion = .referenceAudio(samples: clip.samples, sampleRate: clip.sampleRate, weight: 1)
        let result = try Self.engine.get().synthesize(request)
        let m = try ProsodyTransfer.measure(result.samples, sampleRate: 24000)
        #expect(m.log2PitchMean < ProsodyTransfer.baseline.log2PitchMean - 0.1)
        let faster = try Self.engine.get().synthesize(SynthesisRequest(text: Self.text, speed: 1.5))
        let neutralSeconds = try Self.neutral.get().audioSeconds
        #expect(faster.audioSeconds < neutralSeconds * 0.8)
    }

    @Test func badRequestsAreNamed() throws {
        let engine = try Self.engine.get()
        #expect(throws: SynthesisError.emptyText) { try engine.synthesize(SynthesisRequest(text: "  \n ")) }
        #expect(throws: SynthesisError.emptyText) { try engine.synthesize(SynthesisRequest(text: "……！")) }
        #expect(throws: SynthesisError.unknownVoice("alice", available: engine.info.voices)) {
            try engine.synthesize(SynthesisRequest(text: "你好", voice: "alice"))
        }
        #expect(throws: SynthesisError.self) { try engine.synthesize(SynthesisRequest(text: "你好", speed: 4.5)) }
        #expect(throws: SynthesisError.self) { try engine.synthesize(SynthesisRequest(text: "你好", speed: 0.2)) }
        #expect(throws: SynthesisError.cancelled) {
            var request = SynthesisRequest(text: "你好。再见。")
            request.isCancelled = { true }
            return try engine.synthesize(request)
        }
        #expect(throws: SynthesisError.self) { try engine.synthesize(SynthesisRequest(text: "你好", emotion: .preset("bored", strength: 1))) }
        #expect(throws: SynthesisError.self) { try engine.synthesize(SynthesisRequest(text: "你好", emotion: .vector([1, 2]))) }
        let silence = [Float](repeating: 0, count: 48000)
        #expect(throws: SynthesisError.self) {
            try engine.synthesize(SynthesisRequest(text: "你好", emotion: .referenceAudio(samples: silence, sampleRate: 24000, weight: 1)))
        }
        #expect(throws: SynthesisError.self) { try DefaultVoiceEngine.load(cache: ModelCache(root: "/nonexistent")) }
    }

    @Test func numbersLettersAndPunctuationAreRead() throws {
        // WeTextProcessing's readings, full-width punctuation kept for the voice's segmentation; the reading layer
        // reads a temperature below zero as 零下 (upstream: 负).
        let text = "2025年3月5日，气温-3.5°C，湿度50%，共1024人。"
        let preview = try Self.engine.get().preview(text)
        #expect(preview.normalized == "二零二五年三月五日，气温零下三点五摄氏度，湿度百分之五十，共一千零二十四人。")
        #expect(try Self.engine.get().preview(text, readings: .upstream).normalized
                == "二零二五年三月五日，气温负三点五摄氏度，湿度百分之五十，共一千零二十四人。")
        let pieces = DefaultVoiceText.pieces("第一句。第二句，第三句！\n第四句")
        #expect(pieces.map(\.text) == ["第一句。", "第二句，", "第三句！", "第四句"])
        #expect(pieces.map(\.pause) == [0.3, 0.2, 0.55, 0])
        let mixed = try Self.engine.get().synthesize(SynthesisRequest(text: "我有3个iPhone。"))
        #expect(mixed.audioSeconds > 1)
    }

    /// The default voice reads with the reading layer by default and as before with `readings: upstream`; the preview
    /// says which rule read each span, and an annotation's reading (pinyin included) is what the voice says.
    @Test func readingsAreCorrectedByDefaultAndUpstreamOnRequest() throws {
        let engine = try Self.engine.get()
        let text = "大约1/4的人，凌晨0:05下班。"
        let corrected = engine.preview(text)
        #expect(corrected.normalized == "大约四分之一的人，凌晨零点零五分下班。")
        #expect(corrected.readings == "corrected" && corrected.language == "zh")
        #expect(corrected.spans?.map(\.rule) == ["zh.fraction", "zh.time"] && corrected.spans?.map(\.original) == ["1/4", "0:05"])
        let upstream = engine.preview(text, readings: .upstream)
        #expect(upstream.normalized.hasPrefix("大四分之约一的人") && upstream.readings == "upstream" && upstream.spans == [])

        let annotated = engine.preview("去银<行|hang2>。")
        #expect(annotated.normalized == "去银hang2。")
        #expect(annotated.overrides == [ReadingSpan(original: "行", reading: "hang2", rule: "user.annotation", offset: 2)])
        #expect(annotated.segments.first?.symbols.contains("ang2") == true && annotated.segments.first?.unread == [])
        let plain = engine.preview("去银行。")
        #expect(annotated.segments.first?.symbols == plain.segments.first?.symbols)

        var request = SynthesisRequest(text: "1/4。")
        #expect(try engine.synthesize(request).appliedControls["readings"] == "corrected")
        request.readings = .upstream
        #expect(try engine.synthesize(request).appliedControls["readings"] == "upstream")
    }
}
