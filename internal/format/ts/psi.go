package ts

import "encoding/binary"

// esInfo is one elementary stream of a PMT.
type esInfo struct {
	streamType uint8
	pid        uint16
}

// appendPAT appends a program_association_section (ISO 13818-1 §2.4.4.3)
// with one program whose PMT is on pidPMT.
func appendPAT(dst []byte) []byte {
	at := len(dst)
	dst = append(dst,
		tableIDPAT,
		0xb0, 0, // section_syntax_indicator 1, '0', reserved; section_length below
		0, 1, // transport_stream_id
		0xc1, // reserved, version_number 0, current_next_indicator 1
		0, 0, // section_number, last_section_number
		byte(programNumber>>8), byte(programNumber),
		0xe0|byte(pidPMT>>8), byte(pidPMT&0xff), // reserved, program_map_PID
	)
	return finishSection(dst, at)
}

// appendPMT appends a TS_program_map_section (ISO 13818-1 §2.4.4.8) for the
// given streams, with pcrPID as PCR_PID.
func appendPMT(dst []byte, version uint8, pcrPID uint16, streams []esInfo) []byte {
	at := len(dst)
	dst = append(dst,
		tableIDPMT,
		0xb0, 0,
		byte(programNumber>>8), byte(programNumber),
		0xc1|(version&0x1f)<<1,
		0, 0,
		0xe0|byte(pcrPID>>8), byte(pcrPID),
		0xf0, 0, // reserved, program_info_length 0
	)
	for _, s := range streams {
		dst = append(dst, s.streamType, 0xe0|byte(s.pid>>8), byte(s.pid), 0xf0, 0) // ES_info_length 0
	}
	return finishSection(dst, at)
}

// finishSection fills in the section_length of the section that starts at
// dst[at] and appends its CRC_32 (ISO 13818-1 §2.4.4.10, Annex A).
func finishSection(dst []byte, at int) []byte {
	n := len(dst) - at - 3 + 4 // after section_length, CRC included
	dst[at+1] = dst[at+1]&0xf0 | byte(n>>8)&0x0f
	dst[at+2] = byte(n)
	return binary.BigEndian.AppendUint32(dst, crc32(dst[at:]))
}

// appendSectionPacket appends one transport packet carrying a whole PSI
// section (at most 183 bytes) that starts in it: pointer_field 0, the
// section, then 0xFF stuffing (ISO 13818-1 §2.4.4.1, §2.4.4.2).
func appendSectionPacket(dst []byte, pid uint16, cc uint8, section []byte) []byte {
	dst = append(dst, syncByte, 0x40|byte(pid>>8), byte(pid), 0x10|cc&0x0f, 0)
	dst = append(dst, section...)
	for range PacketSize - 5 - len(section) {
		dst = append(dst, 0xff)
	}
	return dst
}

// section is a PSI section parsed by parseSection.
type section struct {
	tableID   uint8
	idExt     uint16 // transport_stream_id or program_number
	version   uint8
	current   bool
	body      []byte // after last_section_number, before CRC_32
	sectionNo uint8
}

// parseSection parses a long-form PSI section (ISO 13818-1 §2.4.4.3,
// §2.4.4.8) and checks its CRC. b must hold the whole section.
func parseSection(b []byte) (section, bool) {
	var s section
	if len(b) < 3 {
		return s, false
	}
	n := int(binary.BigEndian.Uint16(b[1:]) & 0x0fff)
	if b[1]&0x80 == 0 || n < 9 || len(b) < 3+n {
		return s, false
	}
	b = b[:3+n]
	if crc32(b) != 0 {
		return s, false
	}
	s.tableID = b[0]
	s.idExt = binary.BigEndian.Uint16(b[3:])
	s.version = b[5] >> 1 & 0x1f
	s.current = b[5]&1 == 1
	s.sectionNo = b[6]
	s.body = b[8 : len(b)-4]
	return s, true
}
