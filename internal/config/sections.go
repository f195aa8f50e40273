package config

import (
	"reflect"
	"strings"
)

// Sections is a set of config sections, as Diff reports them.
type Sections uint16

// The sections of a config; each component reloads only those it reacts to.
const (
	SectionServer     Sections = 1 << iota // [server]
	SectionLog                             // [log]
	SectionRTMP                            // [rtmp]: listen, chunk_size
	SectionHTTPAPI                         // [http_api]
	SectionHTTPServer                      // [http_server]
	SectionRTC                             // [rtc]
	SectionSRT                             // [srt]
	SectionVhosts                          // [[vhost]], any of them
	SectionIngest                          // [[ingest]], any of them
	SectionOTA                             // [ota]
	SectionSerial                          // [[serial]], any of them
	SectionTranscode                       // [[transcode]], any of them
	SectionHeartbeat                       // [heartbeat]
	SectionTLS                             // [tls]
	SectionGB28181                         // [gb28181] and its channels

	SectionAll = SectionServer | SectionLog | SectionRTMP | SectionHTTPAPI | SectionHTTPServer |
		SectionRTC | SectionSRT | SectionVhosts | SectionIngest | SectionOTA | SectionSerial |
		SectionTranscode | SectionHeartbeat | SectionTLS | SectionGB28181
)

var sectionNames = []string{"server", "log", "rtmp", "http_api", "http_server", "rtc", "srt", "vhost", "ingest", "ota", "serial", "transcode", "heartbeat", "tls", "gb28181"}

// Has reports whether every section of t is in s.
func (s Sections) Has(t Sections) bool { return s&t == t }

// String lists the sections as "log|rtmp|vhost", or "none".
func (s Sections) String() string {
	var names []string
	for i, n := range sectionNames {
		if s&(1<<i) != 0 {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, "|")
}

// Diff returns the sections that differ between old and new. A nil old (the
// first load) differs in every section.
func Diff(old, new *Config) Sections {
	if old == nil || new == nil {
		if old == new {
			return 0
		}
		return SectionAll
	}
	var s Sections
	diff := func(sec Sections, a, b any) {
		if !reflect.DeepEqual(a, b) {
			s |= sec
		}
	}
	diff(SectionServer, old.Server, new.Server)
	diff(SectionLog, old.Log, new.Log)
	diff(SectionRTMP, old.RTMP, new.RTMP)
	diff(SectionHTTPAPI, old.HTTPAPI, new.HTTPAPI)
	diff(SectionHTTPServer, old.HTTPServer, new.HTTPServer)
	diff(SectionRTC, old.RTC, new.RTC)
	diff(SectionSRT, old.SRT, new.SRT)
	diff(SectionOTA, old.OTA, new.OTA)
	diff(SectionHeartbeat, old.Heartbeat, new.Heartbeat)
	diff(SectionTLS, old.TLS, new.TLS)
	diff(SectionGB28181, old.GB28181, new.GB28181)
	if !equalSerials(old.Serials, new.Serials) {
		s |= SectionSerial
	}
	if !equalTranscodes(old.Transcodes, new.Transcodes) {
		s |= SectionTranscode
	}
	if len(old.Vhosts) != len(new.Vhosts) {
		s |= SectionVhosts
	} else {
		for i := range old.Vhosts {
			if !old.Vhosts[i].equal(&new.Vhosts[i]) {
				s |= SectionVhosts
				break
			}
		}
	}
	if len(old.Ingests) != len(new.Ingests) {
		s |= SectionIngest
	} else {
		for i := range old.Ingests {
			if old.Ingests[i] != new.Ingests[i] {
				s |= SectionIngest
				break
			}
		}
	}
	return s
}

// equal compares two vhosts, treating nil and empty lists alike.
func (v *Vhost) equal(w *Vhost) bool {
	a, b := *v, *w
	for _, l := range []*[]string{
		&a.Hooks.OnConnect, &a.Hooks.OnClose, &a.Hooks.OnPublish, &a.Hooks.OnUnpublish,
		&a.Hooks.OnPlay, &a.Hooks.OnStop, &a.Hooks.OnDVR, &a.Hooks.OnHLS, &a.Hooks.OnHLSNotify,
		&b.Hooks.OnConnect, &b.Hooks.OnClose, &b.Hooks.OnPublish, &b.Hooks.OnUnpublish,
		&b.Hooks.OnPlay, &b.Hooks.OnStop, &b.Hooks.OnDVR, &b.Hooks.OnHLS, &b.Hooks.OnHLSNotify,
		&a.Hooks.OnForward, &b.Hooks.OnForward, &a.Forward.Destinations, &b.Forward.Destinations,
		&a.Cluster.Origins, &b.Cluster.Origins, &a.Cluster.Coworkers, &b.Cluster.Coworkers,
		&a.Security.Rules, &b.Security.Rules,
	} {
		if len(*l) == 0 {
			*l = nil
		}
	}
	return reflect.DeepEqual(a, b)
}
