//go:build !nethttpomithttp2

package buildinfo

// net/http carries its bundled HTTP/2 unless built with the standard
// library's nethttpomithttp2 tag (the tiny profile sets it: about 650 KB less
// on mipsle, and no player needs HTTP/2 over plain TCP).
func init() { Register("http2") }
