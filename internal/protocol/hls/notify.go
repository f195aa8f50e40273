package hls

import (
	"path"
	"strconv"
	"strings"
)

// NotifyURL fills an on_hls_notify URL template (SRS's GET per new segment,
// made to pre-warm a CDN) for seg: [vhost], [app], [stream], [seq] (the
// media sequence), [url] (the segment's path on this server,
// /APP/STREAM-SEQ.ts) and [ts_url] (the segment's URI in the playlist,
// STREAM-SEQ.ts). Values are not escaped, as in SRS: stream names are
// already URL-safe. Other placeholders ([server_id], [param]) are left for
// the caller.
func NotifyURL(tmpl string, seg SegmentInfo) string {
	if !strings.Contains(tmpl, "[") {
		return tmpl
	}
	tsURL := ""
	if seg.URL != "" {
		tsURL = path.Base(seg.URL)
	}
	return strings.NewReplacer(
		"[vhost]", seg.Vhost,
		"[app]", seg.App,
		"[stream]", seg.Stream,
		"[seq]", strconv.FormatUint(seg.Seq, 10),
		"[url]", seg.URL,
		"[ts_url]", tsURL,
	).Replace(tmpl)
}
