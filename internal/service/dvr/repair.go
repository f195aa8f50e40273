package dvr

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/srs-lite/srs-lite/internal/format/flv"
	"github.com/srs-lite/srs-lite/internal/format/fmp4"
	"github.com/srs-lite/srs-lite/internal/format/ts"
)

// ErrInvalid reports data that is not a well-formed FLV stream.
var ErrInvalid = errors.New("dvr: invalid data")

// ScanFLV reads the FLV file of the given size that r holds and returns
// the length of its longest prefix that ends after a complete tag and its
// PreviousTagSize (FLV spec E.3, E.4.1), and whether that prefix has audio
// and video tags. Only tags as the recorder writes them count: type 8, 9 or
// 18, no filter bit, stream ID 0, and a PreviousTagSize that matches. keep
// is 0 when the header is broken or no tag is complete. The error says why
// the scan stopped before the end of the file (nil when it did not);
// I/O errors other than a short read are returned as they are.
func ScanFLV(r io.ReaderAt, size int64) (keep int64, hasAudio, hasVideo bool, err error) {
	var h [flv.TagHeaderSize]byte
	if _, err := readAt(r, h[:9], 0, size); err != nil {
		return 0, false, false, err
	}
	if h[0] != 'F' || h[1] != 'L' || h[2] != 'V' || h[3] != 1 {
		return 0, false, false, fmt.Errorf("dvr: flv signature %q: %w", h[:4], ErrInvalid)
	}
	off := int64(binary.BigEndian.Uint32(h[5:9]))
	if off < 9 || off > 1<<16 {
		return 0, false, false, fmt.Errorf("dvr: flv data offset %d: %w", off, ErrInvalid)
	}
	off += 4 // PreviousTagSize0
	for off < size {
		if _, err := readAt(r, h[:], off, size); err != nil {
			return keep, hasAudio, hasVideo, err
		}
		typ := h[0]
		n := int64(h[1])<<16 | int64(h[2])<<8 | int64(h[3])
		if typ != flv.TagAudio && typ != flv.TagVideo && typ != flv.TagScript ||
			h[8]|h[9]|h[10] != 0 || n == 0 {
			return keep, hasAudio, hasVideo, fmt.Errorf("dvr: flv tag at %d: type %d, size %d: %w", off, h[0], n, ErrInvalid)
		}
		end := off + flv.TagHeaderSize + n + 4
		var p [4]byte
		if _, err := readAt(r, p[:], end-4, size); err != nil {
			return keep, hasAudio, hasVideo, err
		}
		if got := int64(binary.BigEndian.Uint32(p[:])); got != flv.TagHeaderSize+n {
			return keep, hasAudio, hasVideo, fmt.Errorf("dvr: flv tag at %d: previous tag size %d, want %d: %w", off, got, flv.TagHeaderSize+n, ErrInvalid)
		}
		hasAudio = hasAudio || typ == flv.TagAudio
		hasVideo = hasVideo || typ == flv.TagVideo
		keep, off = end, end
	}
	return keep, hasAudio, hasVideo, nil
}

// readAt reads len(p) bytes at off of a file of the given size: a read past
// the end is io.ErrUnexpectedEOF.
func readAt(r io.ReaderAt, p []byte, off, size int64) (int, error) {
	if off < 0 || size-off < int64(len(p)) {
		return 0, io.ErrUnexpectedEOF
	}
	n, err := r.ReadAt(p, off)
	if err == io.EOF && n == len(p) {
		err = nil
	} else if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// RepairFile makes a recording left unfinished (NAME.tmp) playable: it cuts
// the file after its last complete FLV tag or fMP4 fragment, fixes the FLV
// header's audio and video flags, fsyncs it and renames it NAME (NAME with
// a number added when NAME exists). It returns the final name and the bytes
// kept of size; a file with nothing playable is removed (final ""). A file
// that a running recording holds (locked) is left alone: the error is then
// errInUse.
func RepairFile(tmp string) (final string, kept, size int64, err error) {
	name := strings.TrimSuffix(tmp, tmpExt)
	fh, err := os.OpenFile(tmp, os.O_RDWR, 0)
	if err != nil {
		return "", 0, 0, err
	}
	defer func() {
		if fh != nil {
			_ = fh.Close()
		}
	}()
	if err := lock(fh); err != nil {
		return "", 0, 0, err // errInUse: a live recording of another process
	}
	st, err := fh.Stat()
	if err != nil {
		return "", 0, 0, err
	}
	size = st.Size()
	var serr error
	switch strings.ToLower(filepath.Ext(name)) {
	case ".flv":
		var audio, video bool
		kept, audio, video, serr = ScanFLV(fh, size)
		if kept > 0 {
			var flags [1]byte
			if _, err := fh.ReadAt(flags[:], 4); err != nil {
				return "", 0, size, err
			}
			want := flv.Header(audio, video)[4]
			if flags[0] != want {
				if _, err := fh.WriteAt([]byte{want}, 4); err != nil {
					return "", 0, size, err
				}
			}
		}
	case ".mp4":
		kept, serr = fmp4.Scan(fh, size)
	case ".ts":
		kept, serr = ScanTS(fh, size)
	default:
		return "", 0, size, fmt.Errorf("%w: %s", ErrUnsupported, tmp)
	}
	if serr != nil && !errors.Is(serr, io.ErrUnexpectedEOF) && !errors.Is(serr, ErrInvalid) &&
		!errors.Is(serr, fmp4.ErrInvalid) {
		return "", 0, size, serr // an I/O error: leave the file for the next start
	}
	if kept == 0 {
		_ = fh.Close()
		fh = nil
		return "", 0, size, os.Remove(tmp)
	}
	if kept < size {
		if err := fh.Truncate(kept); err != nil {
			return "", 0, size, err
		}
	}
	if err := fh.Sync(); err != nil {
		return "", 0, size, err
	}
	if err := fh.Close(); err != nil {
		fh = nil
		return "", 0, size, err
	}
	fh = nil
	final, err = rename(tmp, name)
	return final, kept, size, err
}

// Repair looks for recordings a crash left unfinished (NAME.flv.tmp,
// NAME.mp4.tmp) under the folders the path templates write to, repairs
// them with RepairFile and logs one line per file. It returns how many
// files it handled. The server runs it once at start, before any
// recording begins.
func Repair(templates []string, log *slog.Logger) int {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	done := map[string]bool{}
	n := 0
	for _, tmpl := range templates {
		dir, depth := Root(tmpl)
		key := dir + "\x00" + fmt.Sprint(depth)
		if done[key] {
			continue
		}
		done[key] = true
		_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			if d.IsDir() {
				// Only the folder levels the template can make.
				if rel, _ := filepath.Rel(dir, p); rel != "." && strings.Count(rel, string(filepath.Separator)) >= depth {
					return filepath.SkipDir
				}
				return nil
			}
			lower := strings.ToLower(p)
			if !d.Type().IsRegular() || !strings.HasSuffix(lower, ".flv"+tmpExt) && !strings.HasSuffix(lower, ".mp4"+tmpExt) {
				return nil
			}
			n++
			final, kept, size, err := RepairFile(p)
			switch {
			case errors.Is(err, errInUse):
				log.Info("dvr: left a recording alone: another process is writing it", "file", p)
			case err != nil:
				log.Error("dvr: cannot repair a recording left by a crash", "file", p, "err", err)
			case final == "":
				log.Warn("dvr: removed a recording left by a crash: nothing playable in it", "file", p, "size", size)
			default:
				log.Info("dvr: repaired a recording left by a crash", "file", final, "kept", kept, "size", size)
			}
			return nil
		})
	}
	return n
}

// ScanTS returns the length of the valid prefix of an MPEG-TS file: whole
// 188-byte packets, each starting with the sync byte 0x47.
func ScanTS(r io.ReaderAt, size int64) (int64, error) {
	var buf [ts.PacketSize * 64]byte
	var off int64
	for off+ts.PacketSize <= size {
		n := min(int64(len(buf)), (size-off)/ts.PacketSize*ts.PacketSize)
		if _, err := r.ReadAt(buf[:n], off); err != nil {
			return off, err
		}
		for i := int64(0); i < n; i += ts.PacketSize {
			if buf[i] != 0x47 {
				return off + i, ErrInvalid
			}
		}
		off += n
	}
	return off, nil
}
