//go:build !race

package flv

const raceEnabled = false
