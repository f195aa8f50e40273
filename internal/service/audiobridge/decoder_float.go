//go:build !(mips.softfloat || mipsle.softfloat || mips64.softfloat || mips64le.softfloat || (arm && !arm.6))

package audiobridge

// DefaultAACDecoder is ffmpeg's floating point AAC decoder: boards with an
// FPU (and builds that assume one) decode AAC fastest with it.
const DefaultAACDecoder = DecoderFloat
