import CSoxr

/// Chunked soxr HQ resampling for streams (the encoder uses it to bring audio to an Opus rate).
/// Not thread-safe: one stream owns it.
final class StreamingSoxr {
    private let handle: soxr_t
    let ratio: Double

    init(from sourceRate: Int, to targetRate: Int) throws {
        var error: soxr_error_t?
        var io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I)
        var quality = soxr_quality_spec(UInt(SOXR_HQ), 0)
        guard let handle = soxr_create(Double(sourceRate), Double(targetRate), 1, &error, &io, &quality, nil),
              error == nil else {
            throw AudioError.codecFailure("soxr: \(error.map { String(cString: $0) } ?? "cannot create resampler")")
        }
        self.handle = handle
        ratio = Double(targetRate) / Double(sourceRate)
    }

    deinit { soxr_delete(handle) }

    /// Resamples the next chunk of the stream.
    func process(_ samples: [Float]) throws -> [Float] {
        var output: [Float] = []
        var consumed = 0
        while consumed < samples.count {
            let (used, block) = try step(samples, from: consumed, capacity: Int(Double(samples.count - consumed) * ratio) + 256)
            consumed += used
            output += block
            if used == 0 && block.isEmpty { break }
        }
        return output
    }

    /// Ends the stream and returns what the filter still holds.
    func flush() throws -> [Float] {
        var output: [Float] = []
        while true {
            let (_, block) = try step(nil, from: 0, capacity: 4096)
            if block.isEmpty { return output }
            output += block
        }
    }

    /// One `soxr_process` call; a nil input marks the end of the stream.
    private func step(_ samples: [Float]?, from start: Int, capacity: Int) throws -> (Int, [Float]) {
        var block = [Float](repeating: 0, count: capacity)
        var used = 0, produced = 0
        let error: soxr_error_t? = block.withUnsafeMutableBufferPointer { out in
            if let samples {
                return samples.withUnsafeBufferPointer { input in
                    soxr_process(handle, input.baseAddress! + start, samples.count - start, &used, out.baseAddress,
                                 capacity, &produced)
                }
            }
            return soxr_process(handle, nil, 0, &used, out.baseAddress, capacity, &produced)
        }
        if let error { throw AudioError.codecFailure("soxr: \(String(cString: error))") }
        return (used, Array(block.prefix(produced)))
    }
}
