import IndexTTSNN
import IndexTTSTensor

/// MaskGCT's factorised vector quantizer (`FactorizedVectorQuantize` with `use_l2_normlize=True`, inference path):
/// a weight-normalised 1×1 conv projects `hidden_size` → `codebook_dim`; the projected latent and every codebook row
/// are L2-normalised and the nearest row (Euclidean distance of the normalised vectors, i.e. cosine) is chosen; the
/// **un-normalised** row is embedded and projected back by a second weight-normalised 1×1 conv.
/// Both convs act on one frame at a time, so they run here as linear maps over time-major `[batch, frames, width]`.
struct FactorizedVectorQuantizer: Sendable {
    let inProject: Linear
    let outProject: Linear
    /// `[codebook_size, codebook_dim]` as stored.
    let codebook: Tensor
    /// Rows of `codebook` divided by max(‖row‖, 1e-12) (`F.normalize`).
    let normalizedCodebook: Tensor
    /// Σ of the squares of each normalised row (≈ 1, kept exact as upstream's distance formula adds it).
    let normalizedSquares: [Float]

    init(_ loader: ParameterLoader, hiddenSize: Int, codebookSize: Int, codebookDim: Int) {
        func projection(_ name: String, from inputs: Int, to outputs: Int) -> Linear {
            let scope = loader.scoped(name)
            let weight = scope.weightNormed("weight", shape: [outputs, inputs, 1])
            let matrix = (try? weight.reshaped([outputs, inputs])) ?? Tensor.zeros([outputs, inputs])
            return Linear(weight: matrix, bias: scope.tensor("bias", shape: [outputs]))
        }
        inProject = projection("in_project", from: hiddenSize, to: codebookDim)
        outProject = projection("out_project", from: codebookDim, to: hiddenSize)
        codebook = loader.scoped("codebook").tensor("weight", shape: [codebookSize, codebookDim])
        (normalizedCodebook, normalizedSquares) = Self.normalizeRows(codebook)
    }

    /// `F.normalize(rows)` (p = 2, eps 1e-12) and each normalised row's squared norm.
    static func normalizeRows(_ rows: Tensor) -> (Tensor, [Float]) {
        let dense = rows.contiguous()
        let (count, width) = (rows.shape[0], rows.rank == 2 ? rows.shape[1] : 0)
        var squares = [Float](repeating: 0, count: count)
        let normalized = withExtendedLifetime(dense) {
            Tensor.make(rows.shape) { out in
                let src = UnsafePointer(dense.basePointer)
                for r in 0..<count {
                    let row = src + r * width
                    var sum: Float = 0
                    for i in 0..<width { sum += row[i] * row[i] }
                    let norm = max(sum.squareRoot(), 1e-12)
                    var normalizedSum: Float = 0
                    for i in 0..<width {
                        let v = row[i] / norm
                        out[r * width + i] = v
                        normalizedSum += v * v
                    }
                    squares[r] = normalizedSum
                }
            }
        }
        return (normalized, squares)
    }

    /// Latents `[batch, frames, hidden]` → codes `[batch][frames]` and quantized embeddings `[batch, frames, hidden]`.
    func quantize(_ latents: Tensor) throws -> (codes: [[Int]], embeddings: Tensor) {
        let (batch, frames) = (latents.shape[0], latents.shape[1])
        let projected = try inProject(latents).contiguous()  // z_e [batch, frames, codebook_dim]
        let width = projected.shape[2]
        let (encodings, encodingSquares) = Self.normalizeRows(try projected.reshaped([batch * frames, width]))
        // −2·e·cᵀ through one GEMM, then upstream's distance ‖e‖² − 2·e·c + ‖c‖² and its first minimum.
        let dots = try encodings.linear(weight: normalizedCodebook).contiguous()  // [rows, codebook_size]
        let size = normalizedCodebook.shape[0]
        var indices = [Int](repeating: 0, count: batch * frames)
        dots.withUnsafeBufferPointer { d in
            for r in 0..<(batch * frames) {
                var best = 0
                var bestDistance = Float.infinity
                let row = d.baseAddress! + r * size
                for k in 0..<size {
                    let distance = (encodingSquares[r] - 2 * row[k]) + normalizedSquares[k]
                    if distance < bestDistance {
                        bestDistance = distance
                        best = k
                    }
                }
                indices[r] = best
            }
        }
        // z_q = z_e + (codebook[i] − z_e): the straight-through form upstream evaluates, rounding included.
        let quantized = withExtendedLifetime(projected) {
            withExtendedLifetime(codebook.contiguous()) { table in
                Tensor.make([batch, frames, width]) { out in
                    let ze = UnsafePointer(projected.basePointer), cb = UnsafePointer(table.basePointer)
                    for r in 0..<(batch * frames) {
                        for i in 0..<width {
                            let e = ze[r * width + i]
                            out[r * width + i] = e + (cb[indices[r] * width + i] - e)
                        }
                    }
                }
            }
        }
        let codes = (0..<batch).map { b in Array(indices[(b * frames)..<((b + 1) * frames)]) }
        return (codes, try outProject(quantized))
    }

    /// Codes `[batch][frames]` → `out_project(codebook[codes])`, `[batch, frames, hidden]` (upstream `vq2emb`).
    /// - Throws: ``ModelError/invalidInput(component:reason:)`` naming `component` for an empty, ragged or
    ///   out-of-range batch.
    func embeddings(_ codes: [[Int]], component: String) throws -> Tensor {
        let frames = codes.first?.count ?? 0
        guard !codes.isEmpty, frames > 0, codes.allSatisfy({ $0.count == frames }) else {
            throw ModelError.invalidInput(component: component, reason: "codes must be a non-empty batch of equal, non-zero lengths")
        }
        let size = codebook.shape[0]
        if let bad = codes.joined().first(where: { $0 < 0 || $0 >= size }) {
            throw ModelError.invalidInput(component: component, reason: "code \(bad) outside 0..<\(size)")
        }
        let rows = try Tensor.embedding(codebook, ids: codes.flatMap { $0 })
        return try outProject(rows.reshaped([codes.count, frames, codebook.shape[1]]))
    }
}
