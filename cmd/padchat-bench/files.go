// The files scenario: one file from fa to fb through padchatd; and a file beside a latency run.
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"padchat/internal/pcclient"
	"padchat/otp"
	"padchat/wire"
)

// fileWindow is how far the bench's sender runs ahead of the server's acks,
// as the padchat client does.
const fileWindow = 16 * wire.FileChunk

// fileUsers are the two ends of a file of size bytes, with pads to spare.
func fileUsers(size int64) []userSpec {
	pad := size + size/50 + 4<<20
	return []userSpec{{"fa", pad}, {"fb", pad}}
}

// fileStats is what one transfer measured.
type fileStats struct {
	seconds       float64 // offer to the receiver's last byte
	sendPad       int64   // fa's send pad spent during the transfer
	recvPad       int64   // fb's receive pad spent during the transfer
	peakRSSGrowth int64   // largest daemon RSS above its level before the offer
	peakAnon      int64   // the same for its anonymous memory (heap, stacks): RSS also counts the pads' mapped pages
}

// transferFile sends size bytes from fa to fb. The reader takes at most
// rate bytes per second (0: as fast as it can), so a slow reader can be
// made; the daemon's RSS is sampled every 20 ms.
func transferFile(ctx context.Context, addr string, bundles func(string) string, pid int, size int64, rate float64) (fileStats, error) {
	var st fileStats
	var sendPad, recvPad atomic.Int64
	a, err := dialCounting(addr, bundles("fa"), otp.ToServer, &sendPad)
	if err != nil {
		return st, err
	}
	defer a.Close()
	b, err := dialCounting(addr, bundles("fb"), otp.ToClient, &recvPad)
	if err != nil {
		return st, err
	}
	defer b.Close()
	context.AfterFunc(ctx, func() { a.Close(); b.Close() })

	chunk := bytes.Repeat([]byte("padchat file bench "), wire.FileChunk/19+1)[:wire.FileChunk]
	h := sha256.New()
	for n := int64(0); n < size; n += wire.FileChunk {
		h.Write(chunk[:min(int64(wire.FileChunk), size-n)])
	}
	base, err := sampleProc(pid)
	if err != nil {
		return st, err
	}
	sampling := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-sampling:
				return
			case <-time.After(20 * time.Millisecond):
			}
			if s, err := sampleProc(pid); err == nil {
				st.peakRSSGrowth = max(st.peakRSSGrowth, s.RSS-base.RSS)
				st.peakAnon = max(st.peakAnon, s.RSSAnon-base.RSSAnon)
			}
		}
	})
	stopSampling := func() { close(sampling); wg.Wait() }

	pad0, rpad0 := sendPad.Load(), recvPad.Load()
	start := time.Now()
	got := make(chan error, 1)
	go func() { got <- receiveFile(b, size, rate) }()
	err = sendFile(a, size, h.Sum(nil), chunk)
	if rerr := <-got; err == nil && rerr != nil {
		err = fmt.Errorf("receiver: %w", rerr)
	}
	stopSampling()
	if err != nil {
		return st, err
	}
	st.seconds = time.Since(start).Seconds()
	st.sendPad, st.recvPad = sendPad.Load()-pad0, recvPad.Load()-rpad0
	return st, nil
}

// dialCounting connects the bundle's user and adds to pad what each frame
// going way uses of its pad (32 bytes of MAC key and the frame's length).
func dialCounting(addr, dir string, way otp.Direction, pad *atomic.Int64) (*pcclient.Client, error) {
	return pcclient.DialWith(addr, dir, func(d otp.Direction, _ int64, n int) {
		if d == way {
			pad.Add(int64(32 + n))
		}
	})
}

// sendFile offers the file to fb and uploads it within fileWindow of the
// server's acks, then waits for fb's receipt.
func sendFile(a *pcclient.Client, size int64, sum, chunk []byte) error {
	if _, err := a.Send(&wire.Msg{Op: wire.OpFileOffer, User: []byte("fb"), Time: size, Text: append(sum, "bench.bin"...)}); err != nil {
		return err
	}
	var m wire.Msg
	for {
		if err := a.Recv(&m); err != nil {
			return err
		}
		if m.Op == wire.OpError {
			return errors.New(string(m.Text))
		}
		if m.Op == wire.OpOK {
			break
		}
	}
	id := m.ID
	var acked atomic.Int64
	acks := make(chan error, 1)
	go func() {
		var m wire.Msg
		for {
			if err := a.Recv(&m); err != nil {
				acks <- err
				return
			}
			switch m.Op {
			case wire.OpFileAcked:
				acked.Store(m.Time)
			case wire.OpFileReceipt:
				acks <- nil
				return
			case wire.OpFileFailed:
				acks <- errors.New(string(m.Text))
				return
			}
		}
	}()
	for sent := int64(0); sent < size; {
		for sent-acked.Load() >= fileWindow {
			select {
			case err := <-acks:
				return fmt.Errorf("before the upload ended: %v", err)
			case <-time.After(50 * time.Microsecond):
			}
		}
		n := min(int64(wire.FileChunk), size-sent)
		if _, err := a.Send(&wire.Msg{Op: wire.OpFileChunk, ID: id, Time: sent, Text: chunk[:n]}); err != nil {
			return err
		}
		sent += n
	}
	return <-acks
}

// receiveFile accepts the offer and reads the file at up to rate bytes/s,
// telling the server every 4 chunks, as the padchat client does.
func receiveFile(b *pcclient.Client, size int64, rate float64) error {
	var m wire.Msg
	var have, told int64
	h := sha256.New()
	var sum []byte
	start := time.Now()
	for {
		if err := b.Recv(&m); err != nil {
			return err
		}
		switch m.Op {
		case wire.OpFileOffered:
			sum = append([]byte(nil), m.Text[:32]...)
			if _, err := b.Send(&wire.Msg{Op: wire.OpFileAccept, ID: m.ID}); err != nil {
				return err
			}
		case wire.OpFileFailed:
			return errors.New(string(m.Text))
		case wire.OpFileData:
			if m.Time != have {
				return fmt.Errorf("chunk at %d, expected %d", m.Time, have)
			}
			h.Write(m.Text)
			have += int64(len(m.Text))
			if rate > 0 {
				if ahead := time.Duration(float64(have)/rate*1e9) - time.Since(start); ahead > 0 {
					time.Sleep(ahead)
				}
			}
			if have == size {
				flags := uint8(0)
				if !bytes.Equal(h.Sum(nil), sum) {
					flags = wire.FlagFileBad
				}
				_, err := b.Send(&wire.Msg{Op: wire.OpFileDone, ID: m.ID, Flags: flags})
				if err == nil && flags != 0 {
					err = errors.New("sha256 mismatch")
				}
				return err
			}
			if have-told >= 4*wire.FileChunk {
				told = have
				if _, err := b.Send(&wire.Msg{Op: wire.OpFileGot, ID: m.ID, Time: have}); err != nil {
					return err
				}
			}
		}
	}
}

func runFiles(ctx context.Context, o *options, stderr io.Writer) (*Result, error) {
	if o.target != "native" {
		return nil, errors.New("files: only the native target sends files")
	}
	e, err := startTarget(ctx, o, plan{users: fileUsers(o.fileSize), conns: 2}, stderr)
	if err != nil {
		return nil, err
	}
	defer e.stop()
	pace := "as fast as it can"
	if o.fileRate > 0 {
		pace = fmt.Sprintf("at %.0f MB/s", o.fileRate/1e6)
	}
	fmt.Fprintf(stderr, "files %s: %d bytes fa → fb, reader %s (server pid %d)\n", o.label, o.fileSize, pace, e.pid)
	r := &Result{Scenario: o.scenario, Target: o.target, Label: o.label, When: time.Now().UTC(), Size: int(o.fileSize),
		Expected: o.fileSize, ProvisionS: e.provision.Seconds()}
	before, err := sampleProc(e.pid)
	if err != nil {
		return nil, err
	}
	cpu0 := selfCPU()
	st, err := transferFile(ctx, e.addr, e.bundles, e.pid, o.fileSize, o.fileRate)
	if err != nil {
		return nil, err
	}
	after, err := sampleProc(e.pid)
	if err != nil {
		return nil, err
	}
	r.Delivered, r.Seconds = o.fileSize, st.seconds
	r.measure(before, after, selfCPU()-cpu0)
	r.PerSec = float64(o.fileSize) / st.seconds
	r.FileSendPad = float64(st.sendPad) / float64(o.fileSize)
	r.FileRecvPad = float64(st.recvPad) / float64(o.fileSize)
	r.PeakRSSGrowth, r.PeakAnonGrowth = st.peakRSSGrowth, st.peakAnon
	return r, nil
}

// fileBeside sends one file during a fan-out or latency run and says how it went.
func fileBeside(ctx context.Context, o *options, e *env) string {
	st, err := transferFile(ctx, e.addr, e.bundles, e.pid, o.fileSize, o.fileRate)
	if err != nil {
		return "file beside the run failed: " + err.Error()
	}
	return fmt.Sprintf("beside it a file of %s in %.2fs = %.0f MB/s", mib(o.fileSize), st.seconds, float64(o.fileSize)/st.seconds/1e6)
}
