import Foundation
import IndexTTSModels
import IndexTTSWeights

/// Resident memory of the weights. Checkpoints are memory-mapped and their fp32 tensors borrowed, so a weight is
/// resident only while its pages are, and the pages are the file's own (page cache), never a second copy. At full
/// size the parts are: w2v-BERT's 17 layers (1.6 GB) and the GPT file's two conformer conditioning encoders (1.1 GB,
/// mostly their `conv2d2` input projections), read only while a new voice is conditioned; the GPT-2 core, heads and
/// embeddings (2 GB), read by generation and the latent pass; S2M, BigVGAN and the codec (< 0.5 GB of file pages).
/// Kept all at once they reach 6 GB; so a new voice's conditioning first lets the GPT's pages go (they fault back in
/// from the page cache when generation starts, well under a second), lets w2v-BERT's go once both clips have been
/// through it (before the conditioning encoders run), and the encoders' once the speaker latents exist. Peak
/// residency is then the largest phase's, not the sum (full size, 250 codes: 5.1 → 3.7 GB, docs/BENCHMARKS.md).
/// The GPT's pages also go after each segment's latent pass, while S2M and BigVGAN hold their activations (a
/// repeated voice never reads the conditioning encoders: their results are cached, `IndexTTS2LatentCache`), and in
/// bf16 mode after load, where the GPT-2 core decodes from its fp16 copy (peak 3.4 GB fp32, 4.4 GB bf16).
extension IndexTTS2Pipeline {
    /// The file w2v-BERT was mapped from (as ``W2VBert/load(directory:layers:)`` opened it).
    var w2vBertCheckpoint: String? {
        (try? W2VBert.resolve(directory: folder.w2vBert))?.appendingPathComponent("model.safetensors").path
    }

    /// Drops the resident pages of gpt.pth and w2v-BERT's model.safetensors from the process (every tensor stays
    /// valid: see ``IndexTTSWeights/MappedFile/releaseResidentPages()``).
    func releaseConditioningAndGPTPages() {
        MappedFile.releaseResidentPages(of: folder.gpt)
        if let w2vBertCheckpoint { MappedFile.releaseResidentPages(of: w2vBertCheckpoint) }
    }
}
