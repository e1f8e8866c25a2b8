#!/usr/bin/env bash
# Regenerates the committed Swift code for the protobuf schemas (SentencePiece models; the ONNX model subset the
# ONNX reader uses, generated internal to IndexTTSWeights). Needs protoc (Debian
# protobuf-compiler) and protoc-gen-swift from swift-protobuf at the version Package.swift uses; the plugin is
# built once into .build-protoc (a few minutes). Usage: scripts/generate-protos.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
command -v protoc >/dev/null || { sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd=sudo; $sudo_cmd apt-get install -y --no-install-recommends protobuf-compiler; }
plugin=.build-protoc/swift-protobuf/.build/release/protoc-gen-swift
if [ ! -x "$plugin" ]; then
  mkdir -p .build-protoc
  [ -d .build-protoc/swift-protobuf ] || git clone -q https://github.com/apple/swift-protobuf .build-protoc/swift-protobuf
  git -C .build-protoc/swift-protobuf checkout -q 1.39.0
  (cd .build-protoc/swift-protobuf && swift build -c release --product protoc-gen-swift)
fi
protoc --plugin="protoc-gen-swift=$plugin" --swift_opt=Visibility=Public \
  --proto_path=Sources/IndexTTSText/Proto --swift_out=Sources/IndexTTSText/Proto \
  Sources/IndexTTSText/Proto/sentencepiece_model.proto
protoc --plugin="protoc-gen-swift=$plugin" --swift_opt=Visibility=Internal \
  --proto_path=Sources/IndexTTSWeights/Proto --swift_out=Sources/IndexTTSWeights/Proto \
  Sources/IndexTTSWeights/Proto/onnx_model.proto
echo "generated Sources/IndexTTSText/Proto/sentencepiece_model.pb.swift and Sources/IndexTTSWeights/Proto/onnx_model.pb.swift"
