//go:build !linux

package dgram

func isUnsupported(error) bool { return true }

const gsoSpace = 0

var gsoOff bool

func hasGSO(Conn) bool { return false }

func putGSO(oob []byte, _ int) []byte { return oob }
