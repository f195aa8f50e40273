//go:build race

package media

func init() { raceEnabled = true }
