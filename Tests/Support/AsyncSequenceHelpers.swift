extension Sequence {
    /// `map` with an async transform, in order, one element at a time (tests poll queues and servers with it).
    public func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var out: [T] = []
        for element in self { out.append(try await transform(element)) }
        return out
    }
}
