package organize_test

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filefleet/filefleet/organize"
	"github.com/filefleet/filefleet/organize/organizetest"
)

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestTakenAt(t *testing.T) {
	le, be := binary.LittleEndian, binary.BigEndian
	want := time.Date(2021, 8, 14, 17, 3, 9, 0, time.UTC)
	both := organizetest.BuildTIFF(le, []organizetest.IFDEntry{{Tag: 0x0132, Str: "2022:01:01 00:00:00"}, {Tag: 0x010F, Str: "Canon"}},
		[]organizetest.IFDEntry{{Tag: 0x9003, Str: "2021:08:14 17:03:09"}})
	cases := []struct {
		desc string
		data []byte
		want time.Time // zero = ok is false
	}{
		{"jpeg DateTimeOriginal", organizetest.BuildJPEG(both, 100), want},
		{"jpeg big-endian", organizetest.BuildJPEG(organizetest.BuildTIFF(be, nil, []organizetest.IFDEntry{{Tag: 0x9003, Str: "2021:08:14 17:03:09"}}), 100), want},
		{"jpeg DateTime only", organizetest.BuildJPEG(organizetest.BuildTIFF(le, []organizetest.IFDEntry{{Tag: 0x0132, Str: "2022:01:02 03:04:05"}}, nil), 10),
			time.Date(2022, 1, 2, 3, 4, 5, 0, time.UTC)},
		{"jpeg zero DateTimeOriginal falls back", organizetest.BuildJPEG(organizetest.BuildTIFF(le, []organizetest.IFDEntry{{Tag: 0x0132, Str: "2022:01:02 03:04:05"}},
			[]organizetest.IFDEntry{{Tag: 0x9003, Str: "0000:00:00 00:00:00"}}), 10), time.Date(2022, 1, 2, 3, 4, 5, 0, time.UTC)},
		{"tiff", both, want},
		{"jpeg without dates", organizetest.BuildJPEG(organizetest.BuildTIFF(le, []organizetest.IFDEntry{{Tag: 0x010F, Str: "Canon"}}, nil), 10), time.Time{}},
		{"jpeg without exif", organizetest.BuildJPEG(nil, 10), time.Time{}},
		{"empty", nil, time.Time{}},
		{"short", []byte{0xFF}, time.Time{}},
		{"garbage", []byte("this is not an image at all, just some text"), time.Time{}},
		{"truncated exif", organizetest.BuildJPEG(both, 0)[:60], time.Time{}},
		{"exif header only", segmentJPEG([]byte("Exif\x00\x00")), time.Time{}},
		{"bad tiff order", segmentJPEG([]byte("Exif\x00\x00XX*\x00\x08\x00\x00\x00")), time.Time{}},
		{"ifd cycle", cyclicTIFF(), time.Time{}},
		{"huge tag count", hugeCountTIFF(), time.Time{}},
		{"exif pointer loop", organizetest.BuildTIFF(le, []organizetest.IFDEntry{{Tag: 0x8769, Long: 8}}, nil), time.Time{}},
	}
	for _, tc := range cases {
		got, ok := organize.TakenAt(bytes.NewReader(tc.data))
		require.Equal(t, !tc.want.IsZero(), ok, tc.desc)
		require.True(t, tc.want.Equal(got), "%s: %v", tc.desc, got)
		if ok {
			require.Equal(t, time.UTC, got.Location(), tc.desc)
		}
	}
}

func segmentJPEG(app1 []byte) []byte {
	return append(append([]byte{0xFF, 0xD8}, organizetest.Segment(0xE1, app1)...), 0xFF, 0xD9)
}

// cyclicTIFF returns a TIFF whose IFD0 and IFD1 point to each other.
func cyclicTIFF() []byte {
	bo := binary.LittleEndian
	b := bo.AppendUint32([]byte("II*\x00"), 8)
	b = bo.AppendUint16(b, 0) // IFD0 at 8: no tags, next at 14
	b = bo.AppendUint32(b, 14)
	b = bo.AppendUint16(b, 0) // IFD1 at 14: no tags, next at 8
	return bo.AppendUint32(b, 8)
}

// hugeCountTIFF returns a TIFF with a LONG tag whose count overflows its byte length.
func hugeCountTIFF() []byte {
	bo := binary.LittleEndian
	b := bo.AppendUint32([]byte("II*\x00"), 8)
	b = bo.AppendUint16(b, 1)
	b = bo.AppendUint16(b, 0x0100)
	b = bo.AppendUint16(b, 4)
	b = bo.AppendUint32(b, 0x40000001) // 4 × count wraps to 4 bytes
	b = bo.AppendUint32(b, 0)
	return bo.AppendUint32(b, 0)
}

func TestTakenAtRealImagesWithoutExif(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	img.Set(1, 1, color.RGBA{R: 255, A: 255})
	var j, p bytes.Buffer
	require.NoError(t, jpeg.Encode(&j, img, nil))
	require.NoError(t, png.Encode(&p, img))
	for _, data := range [][]byte{j.Bytes(), p.Bytes()} {
		_, ok := organize.TakenAt(bytes.NewReader(data))
		require.False(t, ok)
	}
}

func TestTakenAtReadsLittle(t *testing.T) {
	tiff := organizetest.BuildTIFF(binary.LittleEndian, nil, []organizetest.IFDEntry{{Tag: 0x9003, Str: "2021:08:14 17:03:09"}})
	r := &countingReader{r: bytes.NewReader(organizetest.BuildJPEG(tiff, 1<<20))}
	_, ok := organize.TakenAt(r)
	require.True(t, ok)
	require.Less(t, r.n, 1024, "reads up to the Exif segment only")

	r = &countingReader{r: bytes.NewReader(organizetest.BuildJPEG(nil, 1<<20))}
	_, ok = organize.TakenAt(r)
	require.False(t, ok)
	require.Less(t, r.n, 1024, "stops at the image data")

	r = &countingReader{r: io.MultiReader(bytes.NewReader([]byte("II*\x00")), endless{})}
	_, ok = organize.TakenAt(r)
	require.False(t, ok)
	require.LessOrEqual(t, r.n, organize.TakenAtMaxBytes)
}

// endless reads zeros forever.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestTakenAtRandomGarbage(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	tiff := organizetest.BuildTIFF(binary.LittleEndian, []organizetest.IFDEntry{{Tag: 0x0132, Str: "2022:01:01 00:00:00"}},
		[]organizetest.IFDEntry{{Tag: 0x9003, Str: "2021:08:14 17:03:09"}, {Tag: 0xA005, Long: 8}})
	seed := organizetest.BuildJPEG(tiff, 64)
	for range 5000 {
		b := bytes.Clone(seed)
		for range 1 + r.IntN(8) {
			b[r.IntN(len(b))] = byte(r.UintN(256))
		}
		organize.TakenAt(bytes.NewReader(b)) // must neither panic nor hang
		organize.TakenAt(bytes.NewReader(b[:r.IntN(len(b))]))
	}
}
