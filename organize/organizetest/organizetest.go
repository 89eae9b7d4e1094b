// Package organizetest builds images for tests of EXIF dates: TIFF blocks and JPEG streams
// with chosen tags.
package organizetest

import (
	"bytes"
	"encoding/binary"
	"time"
)

// JPEGTaken returns a JPEG stream whose Exif DateTimeOriginal is t, followed by imageData bytes.
func JPEGTaken(t time.Time, imageData int) []byte {
	tiff := BuildTIFF(binary.LittleEndian, nil, []IFDEntry{{Tag: 0x9003, Str: t.Format("2006:01:02 15:04:05")}})
	return BuildJPEG(tiff, imageData)
}

// IFDEntry is one tag of a test IFD: an ASCII string, or a LONG when str is empty.
type IFDEntry struct {
	Tag  uint16
	Str  string
	Long uint32
}

// BuildTIFF returns a TIFF block with the entries of IFD0 and, when exif is not empty, an
// Exif sub-IFD holding those.
func BuildTIFF(bo binary.AppendByteOrder, ifd0, exif []IFDEntry) []byte {
	ifdSize := func(n int) int { return 2 + 12*n + 4 }
	if len(exif) > 0 {
		ifd0 = append(ifd0, IFDEntry{Tag: 0x8769}) // the pointer, filled below
	}
	exifOff := 8 + ifdSize(len(ifd0))
	dataOff := exifOff
	if len(exif) > 0 {
		dataOff += ifdSize(len(exif))
	}
	var data []byte
	ifd := func(entries []IFDEntry) []byte {
		b := bo.AppendUint16(nil, uint16(len(entries)))
		for _, e := range entries {
			b = bo.AppendUint16(b, e.Tag)
			switch {
			case e.Tag == 0x8769:
				b = bo.AppendUint16(b, 4)
				b = bo.AppendUint32(b, 1)
				b = bo.AppendUint32(b, uint32(exifOff))
			case e.Str != "":
				s := append([]byte(e.Str), 0)
				b = bo.AppendUint16(b, 2)
				b = bo.AppendUint32(b, uint32(len(s)))
				b = bo.AppendUint32(b, uint32(dataOff+len(data)))
				data = append(data, s...)
			default:
				b = bo.AppendUint16(b, 4)
				b = bo.AppendUint32(b, 1)
				b = bo.AppendUint32(b, e.Long)
			}
		}
		return bo.AppendUint32(b, 0)
	}
	out := []byte("II*\x00")
	if bo == binary.AppendByteOrder(binary.BigEndian) {
		out = []byte("MM\x00*")
	}
	out = bo.AppendUint32(out, 8)
	out = append(out, ifd(ifd0)...)
	if len(exif) > 0 {
		out = append(out, ifd(exif)...)
	}
	return append(out, data...)
}

// Segment returns a JPEG marker segment.
func Segment(marker byte, data []byte) []byte {
	return append([]byte{0xFF, marker, byte((len(data) + 2) >> 8), byte(len(data) + 2)}, data...)
}

// BuildJPEG returns a JPEG-like stream: SOI, a JFIF APP0, an XMP APP1, the Exif APP1 holding
// tiff (when not nil), SOS and image data, EOI.
func BuildJPEG(tiff []byte, imageData int) []byte {
	b := []byte{0xFF, 0xD8}
	b = append(b, Segment(0xE0, []byte("JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"))...)
	b = append(b, Segment(0xE1, []byte("http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta/>"))...)
	if tiff != nil {
		b = append(b, Segment(0xE1, append([]byte("Exif\x00\x00"), tiff...))...)
	}
	b = append(b, Segment(0xDA, []byte{1, 1, 0, 0, 0x3F, 0})...)
	b = append(b, bytes.Repeat([]byte{0x55}, imageData)...)
	return append(b, 0xFF, 0xD9)
}
