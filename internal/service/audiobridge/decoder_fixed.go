//go:build mips.softfloat || mipsle.softfloat || mips64.softfloat || mips64le.softfloat || (arm && !arm.6)

package audiobridge

// DefaultAACDecoder is ffmpeg's fixed point AAC decoder on targets built for
// boards without an FPU (GOMIPS=softfloat, GOARM=5): ffmpeg's float decoder
// runs on emulated floating point there, several times slower.
const DefaultAACDecoder = DecoderFixed
