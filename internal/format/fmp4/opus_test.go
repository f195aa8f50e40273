package fmp4

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/media"
)

// TestOpusEntry parses back the Opus sample entry of an init segment made
// from an OpusHead, as a WHIP publisher's Opus track has it (Opus in
// ISOBMFF §4.3): the AudioSampleEntry at 48 kHz, the dOps fields
// (big-endian, where the OpusHead's are little-endian), a 48 kHz media
// timescale, and 20 ms samples of 960 ticks in the fragment.
func TestOpusEntry(t *testing.T) {
	// OpusHead (RFC 7845 §5.1): version 1, 2 channels, pre-skip 312,
	// input rate 48000, gain -256 (Q7.8), family 0.
	head := []byte("OpusHead\x01\x02\x38\x01\x80\xbb\x00\x00\x00\xff\x00")
	m := NewMuxer()
	v := avcConfig()
	defer v.Release()
	if err := m.SetTrack(&v); err != nil {
		t.Fatal(err)
	}
	cfg := media.Frame{Codec: media.CodecOpus, Flags: media.FlagConfig, Track: media.TrackOpus, Payload: head}
	if err := m.SetTrack(&cfg); err != nil {
		t.Fatal(err)
	}
	init := m.AppendInit(nil)
	moov := boxes(t, init)[1].body
	var audio []byte
	for _, b := range boxes(t, moov) {
		if b.typ == "trak" && string(child(t, b.body, "mdia", "hdlr")[8:12]) == "soun" {
			audio = b.body
		}
	}
	if audio == nil {
		t.Fatal("no sound track")
	}
	mdhd := child(t, audio, "mdia", "mdhd")
	if ts := binary.BigEndian.Uint32(mdhd[4+16:]); ts != 48000 { // version 1: after two 64-bit times
		t.Errorf("mdhd timescale %d, want 48000", ts)
	}
	stsd := child(t, audio, "mdia", "minf", "stbl", "stsd")
	entries := boxes(t, stsd[8:])
	if len(entries) != 1 || entries[0].typ != "Opus" {
		t.Fatalf("sample entries %v", entries)
	}
	e := entries[0].body
	// AudioSampleEntry (14496-12 §12.2.3): reserved[6], data_reference_index,
	// reserved[8], channelcount, samplesize, pre_defined, reserved,
	// samplerate 16.16.
	if ch, size, rate := binary.BigEndian.Uint16(e[16:]), binary.BigEndian.Uint16(e[18:]), binary.BigEndian.Uint32(e[24:]); ch != 2 || size != 16 || rate != 48000<<16 {
		t.Errorf("AudioSampleEntry: channels %d, sample size %d, rate %#x", ch, size, rate)
	}
	dops := child(t, e[28:], "dOps")
	if len(dops) != 11 {
		t.Fatalf("dOps of %d bytes, want 11 (family 0)", len(dops))
	}
	if ver, ch, skip, in, gain, fam := dops[0], dops[1], binary.BigEndian.Uint16(dops[2:]), binary.BigEndian.Uint32(dops[4:]),
		int16(binary.BigEndian.Uint16(dops[8:])), dops[10]; ver != 0 || ch != 2 || skip != 312 || in != 48000 || gain != -256 || fam != 0 {
		t.Errorf("dOps: version %d channels %d pre-skip %d input rate %d gain %d family %d", ver, ch, skip, in, gain, fam)
	}

	// Two fragments of 20 ms Opus packets: 960 ticks each, the second
	// fragment's tfdt where the first ended.
	var out []byte
	for k := range 2 {
		for i := range 5 {
			d := time.Duration(k*5+i) * 20 * time.Millisecond
			f := media.Frame{Codec: media.CodecOpus, Track: media.TrackOpus, DTS: d, PTS: d, Payload: []byte{0xfc, 1, 2}}
			if err := m.Add(&f); err != nil {
				t.Fatal(err)
			}
		}
		out = m.AppendFragment(out[:0], false)
		traf := child(t, boxes(t, out)[0].body, "traf")
		tfdt := child(t, traf, "tfdt")
		if base := binary.BigEndian.Uint64(tfdt[4:]); base != uint64(k*5*960) {
			t.Errorf("fragment %d: tfdt %d, want %d", k, base, k*5*960)
		}
		_, samples := parseTrun(t, child(t, traf, "trun"))
		for i, s := range samples {
			if s.dur != 960 && s.dur != 0 || s.size != 3 {
				t.Errorf("fragment %d sample %d: duration %d size %d", k, i, s.dur, s.size)
			}
		}
	}
}
