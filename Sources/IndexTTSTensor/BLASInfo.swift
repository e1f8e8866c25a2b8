import COpenBLAS

extension Tensor {
    /// The BLAS library behind the GEMMs as it reports itself: core kernel, configuration and thread count
    /// (for benchmark output), e.g. `OpenBLAS core Zen (OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Zen MAX_THREADS=64), 2 threads`.
    public static var blasDescription: String {
        let core = openblas_get_corename().map { String(cString: $0) } ?? "?"
        let config = openblas_get_config().map { String(cString: $0) } ?? "?"
        return "OpenBLAS core \(core) (\(config)), \(openblas_get_num_threads()) threads"
    }
}
