/// Speaking-rate estimate from syllable nuclei, in the spirit of de Jong & Wempe (2009): peaks of the smoothed
/// frame-energy contour that are voiced, loud enough, and separated from the previous peak by an energy dip.
public enum SpeakingRate {
    public struct Estimate: Sendable {
        public let syllablesPerSecond: Double
        /// Frame indices of the detected nuclei.
        public let nuclei: [Int]
        /// Seconds of speech: first to last voiced frame, minus pauses longer than 0.3 s.
        public let speechSeconds: Double
    }

    /// - Parameters:
    ///   - dipDecibels: how far the contour must fall between two nuclei.
    ///   - floorDecibels: nuclei must be within this of the loudest frame.
    public static func estimate(_ track: PitchTracker.Track, dipDecibels: Float = 2, floorDecibels: Float = 25) -> Estimate {
        let n = track.energyDecibels.count
        guard n > 2, let firstVoiced = track.voiced.firstIndex(of: true), let lastVoiced = track.voiced.lastIndex(of: true) else {
            return Estimate(syllablesPerSecond: 0, nuclei: [], speechSeconds: 0)
        }
        // 5-frame moving average of the energy contour.
        let e = track.energyDecibels
        let smooth = (0..<n).map { t -> Float in
            let window = max(0, t - 2)...min(n - 1, t + 2)
            return window.reduce(0) { $0 + e[$1] } / Float(window.count)
        }
        let loudest = smooth.max() ?? 0
        func nearVoiced(_ t: Int) -> Bool { (max(0, t - 2)...min(n - 1, t + 2)).contains { track.voiced[$0] } }
        var nuclei: [Int] = []
        var lowestSinceLastPeak = Float.infinity
        for t in 1..<(n - 1) {
            lowestSinceLastPeak = min(lowestSinceLastPeak, smooth[t])
            guard smooth[t] >= smooth[t - 1], smooth[t] > smooth[t + 1], smooth[t] >= loudest - floorDecibels,
                  nearVoiced(t) else { continue }
            if nuclei.isEmpty || smooth[t] - lowestSinceLastPeak >= dipDecibels {
                nuclei.append(t)
                lowestSinceLastPeak = smooth[t]
            } else if let last = nuclei.last, smooth[t] > smooth[last] {
                nuclei[nuclei.count - 1] = t  // the same syllable rising further
                lowestSinceLastPeak = smooth[t]
            }
        }
        // Speech time: the voiced span minus long quiet pauses.
        let pauseFrames = Int(0.3 / track.hopSeconds)
        var speechFrames = lastVoiced - firstVoiced + 1
        var t = firstVoiced
        while t <= lastVoiced {
            guard !track.voiced[t] && smooth[t] < loudest - floorDecibels else { t += 1; continue }
            var end = t
            while end <= lastVoiced && !track.voiced[end] && smooth[end] < loudest - floorDecibels { end += 1 }
            if end - t > pauseFrames { speechFrames -= end - t }
            t = end
        }
        let seconds = Double(speechFrames) * track.hopSeconds
        return Estimate(syllablesPerSecond: seconds > 0 ? Double(nuclei.count) / seconds : 0, nuclei: nuclei,
                        speechSeconds: seconds)
    }
}
