package media

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"runtime"
	"strings"
	"testing"
	"time"

	"crieur/board"
)

// deepPNG is a real w×h PNG at 16 bits a channel (RGBA), all transparent
// black: a few hundred kilobytes that decode into w×h×8 bytes.
func deepPNG(t testing.TB, w, h int) []byte {
	t.Helper()
	chunk := func(out *bytes.Buffer, kind string, data []byte) {
		binary.Write(out, binary.BigEndian, uint32(len(data)))
		c := append([]byte(kind), data...)
		out.Write(c)
		binary.Write(out, binary.BigEndian, crc32.ChecksumIEEE(c))
	}
	var out bytes.Buffer
	out.WriteString("\x89PNG\r\n\x1a\n")
	var ihdr bytes.Buffer
	binary.Write(&ihdr, binary.BigEndian, []uint32{uint32(w), uint32(h)})
	ihdr.Write([]byte{16, 6, 0, 0, 0}) // 16-bit RGBA, no interlace
	chunk(&out, "IHDR", ihdr.Bytes())
	chunk(&out, "IDAT", zlibZeros(t, int64(h)*int64(1+8*w))) // each row: filter 0, then zeros
	chunk(&out, "IEND", nil)
	return out.Bytes()
}

// zlibZeros is the zlib stream of n zero bytes. Compressing 392 MB takes
// seconds (tens under the race detector), but once the window is all
// zeros, each megabyte of zeros compresses to the same bytes: the stream
// is made from one compressed megabyte, repeated.
func zlibZeros(t testing.TB, n int64) []byte {
	t.Helper()
	const mb = 1 << 20
	zeros := make([]byte, mb)
	var stream bytes.Buffer
	fw, _ := flate.NewWriter(&stream, flate.BestSpeed)
	segment := func() []byte {
		start := stream.Len()
		fw.Write(zeros)
		fw.Flush() // a byte-aligned sync point
		return bytes.Clone(stream.Bytes()[start:])
	}
	var out bytes.Buffer
	out.Write([]byte{0x78, 0x01}) // zlib header: deflate, 32 KB window
	written := int64(0)
	if n >= 2*mb {
		out.Write(segment()) // the first megabyte starts from an empty window
		steady := segment()
		if again := segment(); !bytes.Equal(again, steady) {
			t.Fatal("compressed zeros are not the same from one megabyte to the next")
		}
		out.Write(steady)
		out.Write(steady)
		for written = 3 * mb; written+mb <= n; written += mb {
			out.Write(steady)
		}
	}
	start := stream.Len()
	fw.Write(zeros[:n-written])
	fw.Close()
	out.Write(stream.Bytes()[start:])
	// Adler-32 of n zeros: a stays 1, b adds 1 per byte.
	binary.Write(&out, binary.BigEndian, uint32(n%65521)<<16|1)
	return out.Bytes()
}

// Point 7 of issue 23: the 7000×7000 PNG at 16 bits a channel (under the
// 50 MP limit, 392 MB once decoded) is refused from its header, saying
// why and what to send, without decoding it; a deep picture that fits is
// read as before.
func TestDeepPicturesAreWeighedBeforeDecoding(t *testing.T) {
	heavy := deepPNG(t, 7000, 7000)
	if cfg, err := png.DecodeConfig(bytes.NewReader(heavy)); err != nil || cfg.ColorModel != color.NRGBA64Model {
		t.Fatalf("the test picture is not a 16-bit PNG: %v %v", cfg.ColorModel, err)
	}
	t.Logf("7000×7000 at 16 bits: %d KB", len(heavy)>>10)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := Process(heavy)
	runtime.ReadMemStats(&after)
	var ve *board.ValidationError
	if !errors.As(err, &ve) || ve.Fields["file"].Key != "problem.picture_too_heavy" {
		t.Fatalf("the 7000×7000 16-bit PNG: %v", err)
	}
	if got := ve.Fields["file"].Args; len(got) != 4 || got[2] != int64(7000*7000*12/1_000_000) || got[3] != int64(33) {
		t.Errorf("what the uploader is told: %v (size, MB needed, megapixels allowed)", got)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 8<<20 {
		t.Errorf("refusing it allocated %d MB: it was decoded", grew>>20)
	}
	if _, err := Process(deepPNG(t, 1200, 900)); err != nil {
		t.Errorf("a 16-bit picture of 1 MP: %v", err)
	}
}

// The budget: one decode per slot, the memory of one maximal picture
// shared, a short queue, and a TryLater (not an error) beyond it.
func TestDecodeBudgetQueuesThenSaysTryLater(t *testing.T) {
	ctx := context.Background()
	b := NewBudget(1, 300*time.Millisecond)
	release, err := b.acquire(ctx, 10<<20)
	if err != nil {
		t.Fatal(err)
	}
	// Two may wait; the third is told at once to come back.
	results := make(chan error, 2)
	for range 2 {
		go func() {
			r, err := b.acquire(ctx, 10<<20)
			if err == nil {
				r()
			}
			results <- err
		}()
	}
	for b.waiting.Load() < 2 {
		runtime.Gosched()
	}
	_, err = b.acquire(ctx, 10<<20)
	var later *board.TryLater
	if !errors.As(err, &later) || !errors.Is(err, board.ErrBusy) || later.Seconds() < 1 || later.Say != "problem.busy_pictures" {
		t.Fatalf("a third waiter: %v", err)
	}
	release() // the waiters go through, one after the other
	for range 2 {
		if err := <-results; err != nil {
			t.Errorf("a waiter when the slot freed: %v", err)
		}
	}
	// A waiter whose wait runs out is told to come back too.
	release, _ = b.acquire(ctx, 1)
	if _, err := b.acquire(ctx, 1); !errors.As(err, &later) {
		t.Errorf("a wait that ran out: %v", err)
	}
	release()

	// Memory is shared: two pictures that together need more than one
	// maximal picture do not decode at once, even with two slots.
	two := NewBudget(2, 200*time.Millisecond)
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("one processor: one slot")
	}
	release, _ = two.acquire(ctx, maxDecodeBytes*3/4)
	if _, err := two.acquire(ctx, maxDecodeBytes/2); !errors.As(err, &later) {
		t.Errorf("a second large decode beside the first: %v", err)
	}
	if r, err := two.acquire(ctx, maxDecodeBytes/8); err != nil {
		t.Errorf("a small decode beside a large one: %v", err)
	} else {
		r()
	}
	release()
}

// Limited.Keep goes through the budget: a folder held busy answers
// TryLater, and keeps the picture once it is free.
func TestLimitedFolderKeepsWithinItsBudget(t *testing.T) {
	ctx := context.Background()
	l := Limited{Dir: Dir(t.TempDir()), Budget: NewBudget(1, 50*time.Millisecond)}
	img := image.NewRGBA(image.Rect(0, 0, 40, 30))
	var buf bytes.Buffer
	png.Encode(&buf, img)
	hold, _ := l.Budget.acquire(ctx, 1)
	l.Budget.maxWaiting = 0
	if _, err := l.Keep(ctx, buf.Bytes()); !errors.Is(err, board.ErrBusy) || !strings.Contains(err.Error(), "try again") {
		t.Fatalf("a busy folder: %v", err)
	}
	hold()
	l.Budget.maxWaiting = 2
	if im, err := l.Keep(ctx, buf.Bytes()); err != nil || im.Width != 40 {
		t.Fatalf("a free folder: %+v %v", im, err)
	}
}
