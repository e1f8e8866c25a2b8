import IndexTTSNN
import IndexTTSTensor
import IndexTTSTestSupport
import IndexTTSWeights
import Testing

/// Loading modules by verbatim key from a real `torch.save` state dict, and the key verification.
struct ModuleLoadingTests {
    /// The fixture module: weight-norm Conv1d(2→3, k3) → BatchNorm1d(3) → old-style weight_norm Conv1d(3→2, k1).
    struct TinyModule {
        let first: Conv1d
        let norm: BatchNorm
        let last: Conv1d

        init(_ loader: ParameterLoader) {
            first = Conv1d(loader.scoped("0"), .init(inChannels: 2, outChannels: 3, kernelSize: 3))
            norm = BatchNorm(loader.scoped("1"), channels: 3)
            last = Conv1d(loader.scoped("2"), .init(inChannels: 3, outChannels: 2, kernelSize: 1))
        }

        func callAsFunction(_ x: Tensor) throws -> Tensor { try last(norm(first(x))) }
    }

    static let store = try! WeightStore.open(path: Fixtures.path("readers/state_dict.pth"))

    @Test func forwardMatchesPyTorch() throws {
        let module = try ModuleLoader.load("TinyModule", from: Self.store, prefix: "model.net.", build: TinyModule.init)
        let io = try WeightStore.open(path: Fixtures.path("readers/module_io.safetensors"))
        expectClose(try module(io.tensor("x")), try io.tensor("y"), "TinyModule")
    }

    @Test func everyMissingUnexpectedAndMisshapenKeyIsNamed() throws {
        do {
            _ = try ModuleLoader.load("Mismatched", from: Self.store, prefix: "model.net.") { loader in
                // Asks for a key that does not exist, gets one shape wrong, and never asks for "2.*".
                (Conv1d(loader.scoped("0"), .init(inChannels: 2, outChannels: 4, kernelSize: 3)),
                 BatchNorm(loader.scoped("1"), channels: 3),
                 loader.tensor("extra.weight"))
            }
            Issue.record("loading should have failed")
        } catch let WeightsError.keyMismatch(module, missing, unexpected, wrongShapes) {
            #expect(module == "Mismatched")
            #expect(missing == ["model.net.extra.weight"])
            #expect(Set(unexpected) == ["model.net.2.bias", "model.net.2.weight_g", "model.net.2.weight_v"])
            #expect(wrongShapes.count == 3)  // g, v and bias of the 4-channel conv
            #expect(wrongShapes.contains { $0.contains("model.net.0.bias") })
        }
    }

    @Test func ignoredPrefixesAreNotUnexpected() throws {
        let module = try ModuleLoader.load("FirstTwo", from: Self.store, prefix: "model.net.", ignoring: ["2."]) { loader in
            (Conv1d(loader.scoped("0"), .init(inChannels: 2, outChannels: 3, kernelSize: 3)),
             BatchNorm(loader.scoped("1"), channels: 3))
        }
        #expect(module.0.weight.shape == [3, 2, 3])
    }

    @Test func linearLayoutsAgree() throws {
        // A GPT-2 style [in, out] Conv1D equals a Linear with the transposed [out, in] weight.
        let weight = try Tensor(shape: [3, 2], scalars: [1, 2, 3, 4, 5, 6])
        let x = try Tensor(shape: [2, 3], scalars: [1, 0, -1, 0.5, 2, 1])
        let inOut = Linear(weight: weight, bias: nil, layout: .inOut)
        let outIn = Linear(weight: try weight.transposed(0, 1).contiguous(), bias: nil, layout: .outIn)
        expectClose(try inOut(x), try outIn(x), "layouts")
        #expect(try inOut(x).scalars == [-4, -4, 11.5, 15])
    }
}
