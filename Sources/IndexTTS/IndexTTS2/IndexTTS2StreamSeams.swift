import Foundation
import IndexTTSModels
import IndexTTSTensor

/// How a streamed synthesis differs from the same codes rendered whole (``IndexTTS2Pipeline/measureStreamSeams(_:codes:noiseSeed:unrelatedSeed:)``):
/// each window's log-mel against the whole mel at its frames, and the waveform inside and outside the cross-fades,
/// each beside what two whole renderings from different noise score (unrelated audio on the same codes).
public struct IndexTTS2StreamSeams: Sendable, Encodable {
    public struct Window: Sendable, Encodable {
        public var index: Int
        public var codes: [Int]
        /// Mean |Δ| of the window's log-mel against the whole rendering's at the same frames.
        public var melDistance: Double
    }
    /// Whether streaming left the codes as the unstreamed synthesis made them (it must).
    public var codesUnchanged: Bool
    public var windows: [Window]
    /// Mean |Δ| between two whole renderings of the same codes from different CFM noise.
    public var unrelatedMelDistance: Double
    /// Waveform SNR of the stream against the whole rendering outside the cross-fades, and inside them (dB).
    public var snrOutsideCrossFades: Double
    public var snrInsideCrossFades: Double
    public var samplesOutside: Int
    public var samplesInside: Int
    /// Waveform SNR between the two whole renderings from different noise (dB).
    public var snrUnrelated: Double
    /// IndexTTS2: the unstreamed synthesis (latent pass) against the whole rendering from the generation's hidden
    /// states, which a stream uses instead: SNR (dB) and mel mean |Δ|. nil for IndexTTS-2.5, which has no latent
    /// pass (its whole rendering is the unstreamed synthesis).
    public var snrLatentVersusHidden: Double?
    public var melLatentVersusHidden: Double?
}

extension IndexTTS2Pipeline {
    /// Streams `request` (one segment of exactly `codes` codes, its speaker conditioning given, ``IndexTTS2Request/streaming``
    /// set) from the CFM start noise of `noiseSeed`, synthesises it unstreamed from the same noise, and renders the
    /// streamed codes whole twice — from the same noise (IndexTTS2: with the generation's hidden states, what the
    /// stream renders, without windows) and from the noise of `unrelatedSeed` — to measure what windowing changes.
    /// Each window's noise is the whole noise's columns at its frames, so the windows and the whole rendering start
    /// from the same values.
    /// - Throws: ``IndexTTS2Error/invalidRequest(_:)`` without streaming, conditioning, or with another code count
    ///   or more than one segment; whatever synthesis throws.
    public func measureStreamSeams(_ request: IndexTTS2Request, codes: Int, noiseSeed: UInt64 = 5,
                                   unrelatedSeed: UInt64 = 6) throws -> IndexTTS2StreamSeams {
        guard request.streaming != nil, let conditioning = request.speakerConditioning else {
            throw IndexTTS2Error.invalidRequest("the seam measurement needs a streamed request with its speaker conditioning")
        }
        let promptFrames = conditioning.refMel.shape[2], mels = conditioning.refMel.shape[1]
        let frames = windowFrames(codes: codes, durationFactor: request.durationFactor)
        var request = request
        request.cfmNoise = [0: FlowMatching.gaussianNoise([1, mels, promptFrames + frames], seed: noiseSeed)]
        request.recordStages = true
        request.sampling.minMelTokens = codes
        request.sampling.maxMelTokens = codes
        let streamed = try synthesize(request)
        var wholeRequest = request
        wholeRequest.streaming = nil
        let whole = try synthesize(wholeRequest)
        let hidden = streamed.stages["gpt_hidden"]
        guard streamed.segments.count == 1, let generated = streamed.segments.first?.codes, generated.count == codes,
              hidden != nil || enhancedCodec != nil, let latentMel = whole.stages["vc_target"] else {
            throw IndexTTS2Error.invalidRequest(
                "the seam measurement needs one segment of \(codes) codes; got \(streamed.segments.map(\.codes.count))")
        }

        func render(_ noise: Tensor) throws -> (mel: [Float], samples: [Float]) {
            let r = try renderWindow(codes: generated, hiddenStates: hidden, promptCondition: conditioning.promptCondition,
                                     referenceMel: conditioning.refMel, style: conditioning.style,
                                     sampling: request.sampling, durationFactor: request.durationFactor, noise: noise)
            return (r.mel.contiguous().scalars, r.samples.map { min(max(32767 * $0, -32767), 32767) })
        }
        let reference = try render(request.cfmNoise[0]!)
        let unrelated = try render(FlowMatching.gaussianNoise([1, mels, promptFrames + frames], seed: unrelatedSeed))

        /// Mean |a − reference| over `range` of the whole frames; `a` holds `aFrames` frames from `aOffset`.
        func melDistance(_ a: [Float], frameRange range: Range<Int>, aOffset: Int, aFrames: Int) -> Double {
            var sum = 0.0
            for m in 0..<mels {
                for f in range { sum += Double(abs(a[m * aFrames + f - aOffset] - reference.mel[m * frames + f])) }
            }
            return sum / Double(max(1, mels * range.count))
        }
        func snr(_ pairs: [(Float, Float)]) -> Double {
            var signal = 0.0, noise = 0.0
            for (x, e) in pairs {
                signal += Double(e) * Double(e)
                noise += Double(x - e) * Double(x - e)
            }
            return noise == 0 ? .infinity : 10 * log10(signal / noise)
        }

        var windows: [IndexTTS2StreamSeams.Window] = []
        var outside: [(Float, Float)] = [], inside: [(Float, Float)] = []
        let fadeStart = streamed.samples.count - CrossFadeStitcher.fadeOutSamples
        let hop = bigvgan.hopLength
        for window in streamed.streamWindows {
            guard let mel = window.mel?.contiguous().scalars else { continue }
            let range = window.frameOffset..<min(frames, window.frameOffset + window.frames)
            windows.append(.init(index: window.index, codes: [window.codeRange.lowerBound, window.codeRange.upperBound],
                                 melDistance: melDistance(mel, frameRange: range, aOffset: window.frameOffset, aFrames: window.frames)))
            // Output sample p of this window is its own sample p − outputStart, i.e. whole sample frameOffset·hop + that.
            for p in window.outputStart..<(window.outputStart + window.emitted) where p < fadeStart {
                let r = window.frameOffset * hop + p - window.outputStart
                guard r < reference.samples.count else { continue }
                let pair = (streamed.samples[p], reference.samples[r])
                if p < window.outputStart + window.crossFade { inside.append(pair) } else { outside.append(pair) }
            }
        }
        let wholeCodes = whole.segments.first?.codes
        let latentPass = enhancedCodec == nil
        return IndexTTS2StreamSeams(
            codesUnchanged: wholeCodes == generated, windows: windows,
            unrelatedMelDistance: melDistance(unrelated.mel, frameRange: 0..<frames, aOffset: 0, aFrames: frames),
            snrOutsideCrossFades: snr(outside), snrInsideCrossFades: snr(inside),
            samplesOutside: outside.count, samplesInside: inside.count,
            snrUnrelated: snr(Array(zip(unrelated.samples, reference.samples))),
            snrLatentVersusHidden: latentPass ? snr(Array(zip(whole.samples, reference.samples))) : nil,
            melLatentVersusHidden: latentPass
                ? melDistance(latentMel.contiguous().scalars, frameRange: 0..<frames, aOffset: 0, aFrames: frames) : nil)
    }
}
