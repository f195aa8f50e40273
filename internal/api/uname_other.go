//go:build !linux

package api

// uname is uname(2) on Linux only.
func uname() (fields [5]string, ok bool) { return fields, false }
