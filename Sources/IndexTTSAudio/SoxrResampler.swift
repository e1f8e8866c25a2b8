import CSoxr

/// High-quality resampling with libsoxr at its "HQ" setting — the path behind `librosa.load(path, sr=…)`, whose
/// default `res_type="soxr_hq"` calls the same library with the same quality, fp32 in and out.
public enum SoxrResampler {
    /// Resamples mono `samples` from `sourceRate` to `targetRate` in one call; the result has
    /// ⌈count · target / source⌉ samples, as `librosa.resample(fix=True)`.
    public static func resample(_ samples: [Float], from sourceRate: Int, to targetRate: Int) throws -> [Float] {
        guard sourceRate > 0, targetRate > 0 else {
            throw AudioError.invalidParameter("resample \(sourceRate) → \(targetRate) Hz")
        }
        if sourceRate == targetRate || samples.isEmpty { return samples }
        // librosa fixes the length to ⌈n · target / source⌉ (zero-padding or trimming soxr's output).
        let outputCount = Int((Double(samples.count) * Double(targetRate) / Double(sourceRate)).rounded(.up))
        var output = [Float](repeating: 0, count: outputCount + 16)
        var produced = 0
        var io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I)
        var quality = soxr_quality_spec(UInt(SOXR_HQ), 0)
        let error = samples.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { out in
                soxr_oneshot(Double(sourceRate), Double(targetRate), 1, input.baseAddress, samples.count, nil,
                             out.baseAddress, out.count, &produced, &io, &quality, nil)
            }
        }
        if let error {
            throw AudioError.codecFailure("soxr: \(String(cString: error))")
        }
        output.removeLast(output.count - outputCount)
        // Anything soxr did not produce stays zero, as librosa's fix_length pads.
        for i in min(produced, outputCount)..<outputCount { output[i] = 0 }
        return output
    }
}
