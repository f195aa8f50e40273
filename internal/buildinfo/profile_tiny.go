//go:build tiny

package buildinfo

const profile = "tiny"
