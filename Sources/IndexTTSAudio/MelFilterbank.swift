#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import IndexTTSTensor

/// Triangular mel filters `[mels, bins]` applied to one-sided spectra.
public struct MelFilterbank: Sendable {
    /// Filter weights `[mels, bins]`.
    public let weights: Tensor

    public var melCount: Int { weights.shape[0] }
    public var binCount: Int { weights.shape[1] }

    /// librosa's default filters (`librosa.filters.mel(htk=False, norm="slaney")`): Slaney mel scale (linear below
    /// 1 kHz, logarithmic above), triangles between neighbouring mel points, each scaled to unit area
    /// (2 / bandwidth). Computed in float64 and stored as fp32, as librosa does.
    public static func slaney(sampleRate: Int, fftSize: Int, melCount: Int, minimumFrequency: Double = 0,
                              maximumFrequency: Double? = nil) throws -> MelFilterbank {
        let bins = fftSize / 2 + 1
        let fmax = maximumFrequency ?? Double(sampleRate) / 2
        guard melCount > 0, fftSize > 0, minimumFrequency >= 0, fmax > minimumFrequency else {
            throw AudioError.invalidParameter("mel filterbank: \(melCount) mels, \(minimumFrequency)–\(fmax) Hz")
        }
        let fftFrequencies = (0..<bins).map { Double($0) * Double(sampleRate) / Double(fftSize) }
        let lowMel = slaneyMel(minimumFrequency), highMel = slaneyMel(fmax)
        let points = (0..<(melCount + 2)).map { slaneyHz(lowMel + (highMel - lowMel) * Double($0) / Double(melCount + 1)) }
        var weights = [Float](repeating: 0, count: melCount * bins)
        for m in 0..<melCount {
            let lowerWidth = points[m + 1] - points[m], upperWidth = points[m + 2] - points[m + 1]
            let norm = 2 / (points[m + 2] - points[m])
            for k in 0..<bins {
                let lower = (fftFrequencies[k] - points[m]) / lowerWidth
                let upper = (points[m + 2] - fftFrequencies[k]) / upperWidth
                weights[m * bins + k] = Float(max(0, min(lower, upper)) * norm)
            }
        }
        return MelFilterbank(weights: try Tensor(shape: [melCount, bins], scalars: weights))
    }

    /// Slaney mel of a frequency: f/(200/3) below 1 kHz, 15 + 27·ln(f/1000)/ln 6.4 above.
    static func slaneyMel(_ hz: Double) -> Double {
        hz >= 1000 ? 15 + log(hz / 1000) / (log(6.4) / 27) : hz / (200.0 / 3)
    }

    static func slaneyHz(_ mel: Double) -> Double {
        mel >= 15 ? 1000 * exp((log(6.4) / 27) * (mel - 15)) : mel * (200.0 / 3)
    }

    /// Which arithmetic the reference used for Kaldi filters: torchaudio evaluates them in fp32 tensors,
    /// transformers' `mel_filter_bank` in float64 numpy. Near the triangle edges the two differ by ~1e-3 relative.
    public enum Arithmetic: String, Sendable, Codable {
        case float32, float64
    }

    /// Kaldi's filters (`torchaudio.compliance.kaldi.get_mel_banks` without VTLN, or transformers'
    /// `mel_filter_bank(mel_scale="kaldi", triangularize_in_mel_space=True)`): mel = 1127·ln(1 + f/700), triangles
    /// equally spaced in mel between `lowFrequency` and `highFrequency` (≤ 0 means Nyquist minus its absolute value),
    /// no area normalisation, and a zero weight at the Nyquist bin.
    public static func kaldi(sampleRate: Int, paddedWindowSize: Int, melCount: Int, lowFrequency: Double = 20,
                             highFrequency: Double = 0, arithmetic: Arithmetic = .float32) throws -> MelFilterbank {
        let nyquist = Double(sampleRate) / 2
        let high = highFrequency <= 0 ? nyquist + highFrequency : highFrequency
        let fftBins = paddedWindowSize / 2
        guard melCount > 0, lowFrequency >= 0, high > lowFrequency, high <= nyquist else {
            throw AudioError.invalidParameter("kaldi mel banks: \(melCount) bins, \(lowFrequency)–\(high) Hz")
        }
        let binWidth = Double(sampleRate) / Double(paddedWindowSize)
        let lowMel = kaldiMel(lowFrequency), highMel = kaldiMel(high)
        let delta = (highMel - lowMel) / Double(melCount + 1)
        var weights = [Float](repeating: 0, count: melCount * (fftBins + 1))
        for m in 0..<melCount {
            for k in 0..<fftBins {
                let weight: Double
                switch arithmetic {
                case .float64:
                    let left = lowMel + Double(m) * delta, center = left + delta, right = center + delta
                    let mel = kaldiMel(binWidth * Double(k))
                    weight = min((mel - left) / (center - left), (right - mel) / (right - center))
                case .float32:
                    // Same operation order and precision as torchaudio's tensors.
                    let d = Float(delta), low = Float(lowMel)
                    let left = Float(m) * d + low, center = Float(m + 1) * d + low, right = Float(m + 2) * d + low
                    let mel = 1127 * logf(1 + Float(binWidth) * Float(k) / 700)
                    weight = Double(min((mel - left) / (center - left), (right - mel) / (right - center)))
                }
                weights[m * (fftBins + 1) + k] = Float(max(0, weight))
            }
        }
        return MelFilterbank(weights: try Tensor(shape: [melCount, fftBins + 1], scalars: weights))
    }

    static func kaldiMel(_ hz: Double) -> Double { 1127 * log(1 + hz / 700) }

    /// Mel energies `[frames, mels]` of spectra `[frames, bins]`.
    public func apply(_ spectra: Tensor) throws -> Tensor {
        try spectra.linear(weight: weights)
    }
}
