package organize

import (
	"bytes"
	"encoding/binary"
	"io"
	"strings"
	"time"

	"github.com/rwcarlsen/goexif/exif"
)

// TakenAtMaxBytes is the most TakenAt reads.
const TakenAtMaxBytes = 256 << 10

// TakenAt reads the EXIF DateTimeOriginal (else DateTime) of a JPEG or TIFF image from r;
// ok is false when there is none or r is not such an image. The date is the camera's clock
// as written, returned in UTC since EXIF dates carry no time zone. For a JPEG it reads the
// segments up to the Exif one only, never more than TakenAtMaxBytes; it does not panic on
// garbage.
func TakenAt(r io.Reader) (t time.Time, ok bool) {
	defer func() {
		if recover() != nil {
			t, ok = time.Time{}, false
		}
	}()
	r = io.LimitReader(r, TakenAtMaxBytes)
	var head [4]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return time.Time{}, false
	}
	var tiff []byte
	switch {
	case head[0] == 0xFF && head[1] == 0xD8: // JPEG SOI
		block := jpegExif(io.MultiReader(bytes.NewReader(head[2:]), r))
		tiff, ok = bytes.CutPrefix(block, []byte("Exif\x00\x00"))
		if !ok {
			return time.Time{}, false
		}
	case string(head[:]) == "II*\x00" || string(head[:]) == "MM\x00*":
		rest, err := io.ReadAll(r)
		if err != nil {
			return time.Time{}, false
		}
		tiff = append(head[:], rest...)
	default:
		return time.Time{}, false
	}
	if !checkTIFF(tiff) {
		return time.Time{}, false
	}
	x, _ := exif.Decode(bytes.NewReader(tiff)) // x despite an error: a bad GPS sub-IFD leaves the dates
	if x == nil {
		return time.Time{}, false
	}
	for _, name := range []exif.FieldName{exif.DateTimeOriginal, exif.DateTime} {
		if tag, err := x.Get(name); err == nil {
			if s, err := tag.StringVal(); err == nil {
				if t, ok := parseExifTime(s); ok {
					return t, true
				}
			}
		}
	}
	return time.Time{}, false
}

// parseExifTime parses an EXIF date ("2006:01:02 15:04:05", or with dashes) as UTC.
func parseExifTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(strings.TrimRight(s, "\x00"))
	for _, layout := range []string{"2006:01:02 15:04:05", "2006-01-02 15:04:05", "2006:01:02T15:04:05", "2006-01-02T15:04:05"} {
		if len(s) >= len(layout) {
			if t, err := time.ParseInLocation(layout, s[:len(layout)], time.UTC); err == nil && t.Year() >= 1800 {
				return t, true
			}
		}
	}
	return time.Time{}, false
}

// jpegExif returns the data of the first APP1 Exif segment of a JPEG whose SOI was read
// from r, or nil. It stops at the start of the image data.
func jpegExif(r io.Reader) []byte {
	var b [2]byte
	for {
		if _, err := io.ReadFull(r, b[:1]); err != nil || b[0] != 0xFF {
			return nil
		}
		marker := byte(0xFF)
		for marker == 0xFF { // fill bytes
			if _, err := io.ReadFull(r, b[:1]); err != nil {
				return nil
			}
			marker = b[0]
		}
		switch {
		case marker == 0xD9 || marker == 0xDA: // EOI, SOS: no Exif before the image data
			return nil
		case marker == 0x01 || marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7): // no length
			continue
		}
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil
		}
		n := int(binary.BigEndian.Uint16(b[:])) - 2
		if n < 0 {
			return nil
		}
		if marker == 0xE1 {
			data := make([]byte, n)
			if _, err := io.ReadFull(r, data); err != nil {
				return nil
			}
			if bytes.HasPrefix(data, []byte("Exif\x00\x00")) {
				return data
			}
			continue // XMP or another APP1
		}
		if _, err := io.CopyN(io.Discard, r, int64(n)); err != nil {
			return nil
		}
	}
}

// TIFF tags that point to the sub-IFDs goexif reads: Exif, GPS and Interoperability.
var subIFDTags = map[uint16]bool{0x8769: true, 0x8825: true, 0xA005: true}

// tiffTypeSize is the size in bytes of each TIFF data type.
var tiffTypeSize = map[uint16]uint64{1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8}

// checkTIFF walks the IFDs goexif would decode from b (the chain from IFD0 and the Exif, GPS
// and Interoperability sub-IFDs) and reports whether they are sound: no cycle, and every
// tag's value within b. goexif follows IFD cycles forever and allocates a tag's count before
// reading it, so garbage must not reach it.
func checkTIFF(b []byte) bool {
	if len(b) < 8 {
		return false
	}
	var bo binary.ByteOrder
	switch string(b[:4]) {
	case "II*\x00":
		bo = binary.LittleEndian
	case "MM\x00*":
		bo = binary.BigEndian
	default:
		return false
	}
	seen := map[uint32]bool{}
	var subs []uint32
	for off := bo.Uint32(b[4:8]); off != 0; {
		if seen[off] || len(seen) > 64 {
			return false
		}
		seen[off] = true
		next, ptrs, ok := checkIFD(b, bo, off)
		if !ok {
			return false
		}
		subs = append(subs, ptrs...)
		off = next
	}
	for len(subs) > 0 {
		off := subs[0]
		subs = subs[1:]
		if off == 0 || seen[off] {
			continue
		}
		if len(seen) > 64 {
			return false
		}
		seen[off] = true
		_, ptrs, ok := checkIFD(b, bo, off)
		if !ok {
			return false
		}
		subs = append(subs, ptrs...)
	}
	return true
}

// checkIFD checks the IFD at off in b, returning the offset of the next IFD and the
// sub-IFD pointers it holds.
func checkIFD(b []byte, bo binary.ByteOrder, off uint32) (next uint32, subs []uint32, ok bool) {
	size := uint64(len(b))
	if uint64(off)+2 > size || off >= 1<<31 {
		return 0, nil, false
	}
	n := int16(bo.Uint16(b[off:])) // goexif reads a signed count
	if n < 0 {
		n = 0
	}
	end := uint64(off) + 2 + 12*uint64(n)
	if end+4 > size {
		return 0, nil, false
	}
	for p := uint64(off) + 2; p < end; p += 12 {
		id, typ, count := bo.Uint16(b[p:]), bo.Uint16(b[p+2:]), bo.Uint32(b[p+4:])
		ts := tiffTypeSize[typ]
		l := ts * uint64(count)
		if ts == 0 || l == 0 || l > size {
			return 0, nil, false
		}
		val := b[p+8 : p+12]
		if l > 4 {
			at := uint64(bo.Uint32(val))
			if at+l > size {
				return 0, nil, false
			}
			val = b[at : at+l]
		}
		if subIFDTags[id] {
			switch typ {
			case 1, 6:
				subs = append(subs, uint32(val[0]))
			case 3, 8:
				subs = append(subs, uint32(bo.Uint16(val)))
			case 4, 9:
				subs = append(subs, bo.Uint32(val))
			}
		}
	}
	return bo.Uint32(b[end:]), subs, true
}
