package manscdp

import (
	"testing"
)

func TestCatalogRoundTrip(t *testing.T) {
	items := []Item{{DeviceID: "34020000001310000001", Name: "Gate & yard", Status: "ON", PTZType: 1, Manufacturer: "Hikvision"},
		{DeviceID: "34020000001310000002", Name: "Back", Status: "OFF"}}
	d, err := Parse(Catalog(7, "34020000001320000001", 4, items))
	if err != nil {
		t.Fatal(err)
	}
	if d.Root != "Response" || d.CmdType != "Catalog" || d.SN != 7 || d.SumNum != 4 || d.DeviceID != "34020000001320000001" {
		t.Fatalf("%+v", d)
	}
	if len(d.Items) != 2 || d.Items[0] != items[0] || d.Items[1].Status != "OFF" {
		t.Fatalf("items %+v", d.Items)
	}
}

// TestGB2312: a Hikvision-style document declared GB2312, with a name in
// GB2312 bytes ("大门", not UTF-8): the fields read, the name is made valid
// UTF-8.
func TestGB2312(t *testing.T) {
	doc := "<?xml version=\"1.0\" encoding=\"GB2312\" standalone=\"yes\"?>\n<Response>\n<CmdType>DeviceInfo</CmdType>\n<SN>3</SN>\n" +
		"<DeviceID>34020000001320000001</DeviceID>\n<Result>OK</Result>\n<DeviceName>\xb4\xf3\xc3\xc5</DeviceName>\n" +
		"<Manufacturer>Hikvision</Manufacturer>\n<Model>DS-2DE2204IW-DE3</Model>\n<Firmware>V5.6.0</Firmware>\n<Channel>1</Channel>\n</Response>\n"
	d, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if d.Manufacturer != "Hikvision" || d.Model != "DS-2DE2204IW-DE3" || d.Firmware != "V5.6.0" || d.Channel != 1 || d.DeviceName == "" {
		t.Fatalf("%+v", d)
	}
}

func TestKeepaliveAndControl(t *testing.T) {
	d, err := Parse(Keepalive(1, "34020000001320000001"))
	if err != nil || d.Root != "Notify" || d.CmdType != "Keepalive" || d.Status != "OK" {
		t.Fatalf("%v %+v", err, d)
	}
	d, err = Parse(Control(2, "34020000001310000001", "A50F01021F0000D6"))
	if err != nil || d.CmdType != "DeviceControl" || d.PTZCmd != "A50F01021F0000D6" {
		t.Fatalf("%v %+v", err, d)
	}
}

func TestMalformed(t *testing.T) {
	for _, in := range []string{"", "<Query>", "<Query><CmdType>x</CmdType>", "<a></b>", "<Query></Query>", "<!--"} {
		if _, err := Parse([]byte(in)); err == nil {
			t.Errorf("Parse(%q) succeeded", in)
		}
	}
}

// TestPTZCmd checks PTZCmd against GB/T 28181-2016 A.3's layout: A5,
// 0F (version 0 with its check nibble), address 01, the op, speeds, the
// sum of bytes 1..7.
func TestPTZCmd(t *testing.T) {
	for _, c := range []struct {
		op, pan, tilt, zoom byte
		want                string
	}{
		{PTZLeft, 0x1F, 0, 0, "A50F01021F0000D6"},
		{PTZUp, 0, 0x80, 0, "A50F01080080003D"},
		{PTZZoomIn, 0, 0, 3, "A50F0110000030F5"},
		{0, 0, 0, 0, "A50F0100000000B5"},
		{PTZPresetGo, 0, 5, 0, "A50F01820005003C"},
	} {
		got, err := PTZCmd(c.op, c.pan, c.tilt, c.zoom)
		if err != nil || got != c.want {
			t.Errorf("PTZCmd(%#x, %d, %d, %d) = %s, %v; want %s", c.op, c.pan, c.tilt, c.zoom, got, err, c.want)
		}
	}
	if _, err := PTZCmd(PTZZoomIn, 0, 0, 16); err == nil {
		t.Error("zoom speed 16 accepted")
	}
}

func FuzzParse(f *testing.F) {
	f.Add(Catalog(1, "34020000001320000001", 1, []Item{{DeviceID: "1", Name: "n", Status: "ON"}}))
	f.Add(Keepalive(1, "x"))
	f.Add([]byte("<?xml version=\"1.0\" encoding=\"GB2312\"?><Response><CmdType>DeviceInfo</CmdType><![CDATA[x]]><!-- c --><DeviceName>\xb4\xf3</DeviceName></Response>"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Parse(data)
		if err != nil {
			return
		}
		if d.CmdType == "" || len(d.Items) > maxItems {
			t.Fatalf("accepted %+v", d)
		}
	})
}

func BenchmarkParseCatalog(b *testing.B) {
	items := make([]Item, 16)
	for i := range items {
		items[i] = Item{DeviceID: "34020000001310000001", Name: "cam", Status: "ON", PTZType: 1}
	}
	doc := Catalog(1, "34020000001320000001", 16, items)
	b.ReportAllocs()
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		if _, err := Parse(doc); err != nil {
			b.Fatal(err)
		}
	}
}
