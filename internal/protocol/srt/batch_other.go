//go:build !linux

package srt

func isUnsupported(error) bool { return true }
