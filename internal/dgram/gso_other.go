//go:build !linux

package dgram

import "net"

func isUnsupported(error) bool { return true }

const gsoSpace = 0

var gsoOff bool

func hasGSO(*net.UDPConn) bool { return false }

func putGSO(oob []byte, _ int) []byte { return oob }
