//go:build !race

package httpflv

const raceEnabled = false
