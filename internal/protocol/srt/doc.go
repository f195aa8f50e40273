// Package srt is srs-lite's pure-Go SRT (Secure Reliable Transport) in live
// mode, interoperable with libsrt (ffmpeg, OBS, srt-live-transmit): a
// listener that serves every peer on one UDP socket, a caller (Dial) for the
// bench tool and tests, and the media sessions that publish a peer's MPEG-TS
// into the stream registry and play a stream out as MPEG-TS.
//
// The reference is the IETF draft "The SRT Protocol" (draft-sharabayko-srt-01);
// comments cite its sections as §n:
//
//   - packets (§3): data (§3.1) and control (§3.2) headers, the handshake
//     and its extensions HSREQ/HSRSP, KMREQ/KMRSP and stream id
//     (§3.2.1.1-§3.2.1.3), key material (§3.2.2), ACK (§3.2.4), NAK (§3.2.5),
//     shutdown (§3.2.7), ACKACK (§3.2.8), drop request (§3.2.9);
//   - the caller-listener handshake, HSv5 only, with SYN cookies (§4.3.1);
//   - TSBPD with the negotiated latency (§4.4, §4.5), too-late packet drop
//     (§4.6), clock drift (§4.7), ACK/ACKACK/NAK and retransmission (§4.8),
//     RTT (§4.10), live pacing bounded by maxbw (§5.1);
//   - AES-CTR encryption with PBKDF2 and RFC 3394 key wrap (§6);
//   - the stream id access control syntax (Appendix B), read as SRS reads it.
//
// Layers: packet.go, handshake.go, km.go and streamid.go are pure encoders
// and parsers (fuzzed); conn.go is one connection's ARQ state machine;
// mux.go owns a UDP socket, routes datagrams to connections and runs their
// timers; recv*.go read it in batches (recvmmsg); batch*.go and queue.go
// send in batches (sendmmsg, UDP GSO), a listener's through one send queue
// for all its connections; listener.go answers handshakes; dial.go is the caller; server.go
// maps connections onto media streams.
package srt
