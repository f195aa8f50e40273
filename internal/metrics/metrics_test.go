package metrics

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"os/exec"
	"strings"
	"testing"
)

func TestFamilies(t *testing.T) {
	var w Writer
	w.Family("srs_streams", Gauge, "The number of streams.")
	w.Int(3)
	w.Family("srs_stream_frames_total", Counter, "Frames received.")
	w.Sample("vhost", "__defaultVhost__", "app", "live", "stream", "a").Uint(10)
	w.Sample("vhost", "__defaultVhost__", "app", "live", "stream", "b").Uint(0)
	w.Family("x_ratio", Gauge, "A ratio.")
	w.Value(0.25)
	w.Family("x_up", Untyped, "Up.")
	w.Sample("a", "1").Bool(true)
	w.Sample("a", "2").Bool(false)
	w.Family("x_neg", Gauge, "Negative and special.")
	w.Sample("v", "neg").Int(-5)
	w.Sample("v", "nan").Value(math.NaN())
	w.Sample("v", "inf").Value(math.Inf(1))
	w.Sample("v", "-inf").Value(math.Inf(-1))
	if err := w.Err(); err != nil {
		t.Fatal(err)
	}
	want := `# HELP srs_streams The number of streams.
# TYPE srs_streams gauge
srs_streams 3
# HELP srs_stream_frames_total Frames received.
# TYPE srs_stream_frames_total counter
srs_stream_frames_total{vhost="__defaultVhost__",app="live",stream="a"} 10
srs_stream_frames_total{vhost="__defaultVhost__",app="live",stream="b"} 0
# HELP x_ratio A ratio.
# TYPE x_ratio gauge
x_ratio 0.25
# HELP x_up Up.
# TYPE x_up untyped
x_up{a="1"} 1
x_up{a="2"} 0
# HELP x_neg Negative and special.
# TYPE x_neg gauge
x_neg{v="neg"} -5
x_neg{v="nan"} NaN
x_neg{v="inf"} +Inf
x_neg{v="-inf"} -Inf
`
	if got := string(w.Bytes()); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	w.Reset()
	if len(w.Bytes()) != 0 || w.Err() != nil {
		t.Fatal("Reset left something")
	}
}

func TestEscaping(t *testing.T) {
	var w Writer
	w.Family("x_escape", Gauge, "Help with a \\ backslash,\na line feed and \"quotes\".")
	w.Sample("stream", "a\\b\"c\nd", "utf8", "caméra", "bad", "x\xffy").Int(1)
	want := `# HELP x_escape Help with a \\ backslash,\na line feed and "quotes".
# TYPE x_escape gauge
x_escape{stream="a\\b\"c\nd",utf8="caméra",bad="x` + "\uFFFD" + `y"} 1
`
	if got := string(w.Bytes()); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

func TestMisuse(t *testing.T) {
	for _, tc := range []struct {
		name string
		do   func(w *Writer)
		err  error
	}{
		{"sample before family", func(w *Writer) { w.Sample("a", "b").Int(1) }, ErrNoFamily},
		{"value before family", func(w *Writer) { w.Int(1) }, ErrNoFamily},
		{"bad family name", func(w *Writer) { w.Family("1abc", Gauge, ""); w.Int(1) }, ErrName},
		{"bad family char", func(w *Writer) { w.Family("a-b", Gauge, ""); w.Int(1) }, ErrName},
		{"bad label name", func(w *Writer) { w.Family("ab", Gauge, ""); w.Sample("a-b", "x").Int(1) }, ErrName},
		{"reserved label", func(w *Writer) { w.Family("ab", Gauge, ""); w.Sample("__name__", "x").Int(1) }, ErrName},
		{"odd labels", func(w *Writer) { w.Family("ab", Gauge, ""); w.Sample("a").Int(1) }, ErrLabels},
		{"family twice", func(w *Writer) {
			w.Family("ab", Gauge, "")
			w.Int(1)
			w.Family("ab", Gauge, "")
			w.Int(2)
		}, ErrDuplicate},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var w Writer
			tc.do(&w)
			if !errors.Is(w.Err(), tc.err) && !strings.HasPrefix(w.Err().Error(), tc.err.Error()) {
				t.Fatalf("err %v, want %v", w.Err(), tc.err)
			}
			// What was refused is left out: every line that is not a
			// comment is a well-formed sample.
			for _, l := range strings.Split(strings.TrimSuffix(string(w.Bytes()), "\n"), "\n") {
				if l != "" && !strings.HasPrefix(l, "#") && !strings.HasPrefix(l, "ab ") {
					t.Fatalf("refused sample written: %q", l)
				}
			}
			if bytes.Count(w.Bytes(), []byte("ab 2")) != 0 {
				t.Fatal("the repeated family's sample was written")
			}
		})
	}
}

func TestValidName(t *testing.T) {
	for s, ok := range map[string]bool{"a": true, "_a": true, "a:b_c9": true, ":x": true, "": false, "9a": false, "a b": false, "é": false} {
		if ValidName(s) != ok {
			t.Errorf("ValidName(%q) = %v", s, !ok)
		}
	}
}

// ParsedFamily is a family as the Python parser read it.
type parsedFamily struct {
	Name    string  `json:"name"`
	Type    string  `json:"type"`
	Help    string  `json:"help"`
	Samples [][]any `json:"samples"`
}

func parseWithPython(t *testing.T, text []byte) []parsedFamily {
	t.Helper()
	const py = "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import prometheus_client.parser").Run(); err != nil {
		t.Skipf("SKIPPED: the Prometheus parser is missing (Debian/Ubuntu: apt-get install python3-prometheus-client; `make test` installs it when run as root): %v", err)
	}
	cmd := exec.Command(py, "testdata/promparse.py")
	cmd.Stdin = bytes.NewReader(text)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("the parser refused the text: %v\n%s\ntext:\n%s", err, stderr.String(), text)
	}
	var fams []parsedFamily
	if err := json.Unmarshal(out, &fams); err != nil {
		t.Fatal(err)
	}
	return fams
}

func TestRealParser(t *testing.T) {
	var w Writer
	w.Family("srs_streams", Gauge, "The number of streams.")
	w.Int(3)
	w.Family("srs_stream_frames_total", Counter, "Frames \\ received\nsecond line.")
	w.Sample("vhost", "v", "app", "live", "stream", "a\\b\"c\nd").Uint(10)
	w.Sample("vhost", "v", "app", "live", "stream", "caméra").Uint(1 << 40)
	w.Family("x_special", Gauge, "Specials.")
	w.Sample("v", "nan").Value(math.NaN())
	w.Sample("v", "inf").Value(math.Inf(1))
	w.Sample("v", "small").Value(1.5e-7)
	fams := parseWithPython(t, w.Bytes())
	if len(fams) != 3 {
		t.Fatalf("%d families: %+v", len(fams), fams)
	}
	f := fams[1]
	// The parser names a counter's family without its _total suffix.
	if f.Name != "srs_stream_frames" || f.Type != "counter" || f.Help != "Frames \\ received\nsecond line." {
		t.Fatalf("family %+v", f)
	}
	labels := f.Samples[0][1].(map[string]any)
	if labels["stream"] != "a\\b\"c\nd" || f.Samples[0][2].(float64) != 10 {
		t.Fatalf("sample %v", f.Samples[0])
	}
	if l := f.Samples[1][1].(map[string]any); l["stream"] != "caméra" || f.Samples[1][2].(float64) != 1<<40 {
		t.Fatalf("sample %v", f.Samples[1])
	}
	if s := fams[2].Samples; s[0][2] != "nan" || s[1][2] != "inf" || s[2][2].(float64) != 1.5e-7 {
		t.Fatalf("specials %v", s)
	}
}

func BenchmarkWriter(b *testing.B) {
	var w Writer
	b.ReportAllocs()
	for b.Loop() {
		w.Reset()
		w.Family("srs_stream_frames_total", Counter, "Frames received.")
		for i := 0; i < 100; i++ {
			w.Sample("vhost", "__defaultVhost__", "app", "live", "stream", "cam\"1").Uint(uint64(i))
		}
	}
	b.SetBytes(int64(len(w.Bytes())))
}
