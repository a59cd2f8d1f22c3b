package server

import (
	"bytes"
	"context"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// decodeAll feeds in to a fresh decoder in pieces of size step (0: at once).
func decodeAll(in []byte, step int) (*svcDecoder, int) {
	d := &svcDecoder{}
	if step == 0 {
		return d, d.feed(in)
	}
	used := 0
	for i := 0; i < len(in) && d.st < svcReady; i += step {
		piece := in[i:min(i+step, len(in))]
		n := d.feed(piece)
		used += n
		if n < len(piece) {
			break
		}
	}
	return d, used
}

func TestSvcDecoder(t *testing.T) {
	long := strings.Repeat("x", 300)
	max := strings.Repeat("y", svcFieldMax-1)
	for _, tc := range []struct {
		name    string
		in      string
		st      svcState
		op      svcOp
		args    []string
		tooLong bool
		used    int // -1: all of in
	}{
		{"register", "REGISTER\x00Ann Smith\x00ann\x0001/02/2000\x00", svcReady, opRegister, []string{"Ann Smith", "ann", "01/02/2000"}, false, -1},
		{"unregister", "UNREGISTER\x00ann\x00", svcReady, opUnregister, []string{"ann"}, false, -1},
		{"connect", "CONNECT\x00ann\x004567\x00", svcReady, opConnect, []string{"ann", "4567"}, false, -1},
		{"disconnect", "DISCONNECT\x00ann\x00", svcReady, opDisconnect, []string{"ann"}, false, -1},
		{"send", "SEND\x00ann\x00bob\x00hi  there\x00", svcReady, opSend, []string{"ann", "bob", "hi  there"}, false, -1},
		{"connected users, trailing name left", "CONNECTEDUSERS\x00ann\x00", svcReady, opConnectedUsers, nil, false, len("CONNECTEDUSERS\x00")},
		{"a second request is left", "DISCONNECT\x00ann\x00SEND\x00", svcReady, opDisconnect, []string{"ann"}, false, len("DISCONNECT\x00ann\x00")},
		{"255-byte text fits", "SEND\x00a\x00b\x00" + max + "\x00", svcReady, opSend, []string{"a", "b", max}, false, -1},
		{"300-byte text is too long", "SEND\x00a\x00b\x00" + long + "\x00", svcReady, opSend, []string{"a", "b", ""}, true, -1},
		{"empty fields", "SEND\x00\x00\x00\x00", svcReady, opSend, []string{"", "", ""}, false, -1},
		{"incomplete", "SEND\x00ann\x00bo", svcReadArg, opSend, []string{"ann"}, false, -1},
		{"unknown op", "HELLO\x00", svcBad, opNone, nil, false, -1},
		{"lower case op", "register\x00", svcBad, opNone, nil, false, -1},
		{"empty op", "\x00", svcBad, opNone, nil, false, -1},
		{"op with no NUL", "REGISTERann1234567\x00", svcBad, opNone, nil, false, svcOpMax - 1},
		{"binary junk", "\xff\xfe\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f", svcBad, opNone, nil, false, svcOpMax - 1},
		{"endless arg", "SEND\x00ann\x00" + strings.Repeat("z", 1<<20), svcBad, opSend, []string{"ann"}, true, len("SEND\x00ann\x00") + svcSkipMax},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, step := range []int{0, 1, 7, 256} {
				d, used := decodeAll([]byte(tc.in), step)
				require.Equal(t, tc.st, d.st, "step %d", step)
				assert.Equal(t, tc.op, d.op, "step %d", step)
				assert.Equal(t, tc.tooLong, d.tooLong, "step %d", step)
				for i, a := range tc.args {
					assert.Equal(t, a, d.args[i], "step %d arg %d", step, i)
				}
				if tc.used == -1 {
					assert.Equal(t, len(tc.in), used, "step %d", step)
				} else {
					assert.Equal(t, tc.used, used, "step %d", step)
				}
			}
		})
	}
}

func FuzzMsgSvc(f *testing.F) {
	for _, s := range []string{
		"REGISTER\x00Ann\x00ann\x0001/01/2000\x00", "CONNECT\x00ann\x00123\x00", "CONNECTEDUSERS\x00",
		"SEND\x00a\x00b\x00" + strings.Repeat("m", 300) + "\x00", "UNREGISTER\x00", "\x00\x00", "DISCONNECT",
	} {
		f.Add([]byte(s), uint8(1))
	}
	f.Fuzz(func(t *testing.T, in []byte, step uint8) {
		whole, usedWhole := decodeAll(in, 0)
		split, usedSplit := decodeAll(in, int(step)%64+1)
		// Where the input is cut must not matter.
		require.Equal(t, whole.st, split.st)
		require.Equal(t, usedWhole, usedSplit)
		require.Equal(t, whole.args, split.args)
		require.Equal(t, whole.tooLong, split.tooLong)
		require.LessOrEqual(t, usedWhole, len(in))
		for _, a := range whole.args {
			require.Less(t, len(a), svcFieldMax)
		}
		if whole.st == svcReady {
			require.NotEqual(t, opNone, whole.op)
			require.Equal(t, byte(0), in[usedWhole-1], "a request ends with a NUL")
		}
		if whole.st < svcReady {
			require.Equal(t, len(in), usedWhole, "an incomplete request takes all its input")
		}
	})
}

func TestSvcMailRecord(t *testing.T) {
	rec := encodeSvcMail("ann", math.MaxUint32, "hi\x01there")
	from, id, text, ok := decodeSvcMail(rec)
	require.True(t, ok)
	assert.Equal(t, "ann", from)
	assert.Equal(t, uint32(math.MaxUint32), id)
	assert.Equal(t, "hi\x01there", text)
	_, _, _, ok = decodeSvcMail(rec[:3])
	assert.False(t, ok)
}

// startSvcLoop runs a daemon in-process with the message-service listener on port 0 and
// returns that listener's address and a stop function (also a cleanup).
func startSvcLoop(t *testing.T, dir string) (string, func()) {
	return startSvcLoopLog(t, dir, zerolog.Nop())
}

func startSvcLoopLog(t *testing.T, dir string, log zerolog.Logger) (string, func()) {
	t.Helper()
	l, err := New(Config{DataDir: dir, Listen: "127.0.0.1:0", Listeners: map[string]string{"msgsvc": "127.0.0.1:0"}}, log)
	require.NoError(t, err)
	var addr string
	for _, w := range l.watchers {
		if ln, ok := w.(*listener); ok && ln != l.native {
			addr = ln.addr.String()
		}
	}
	done := make(chan struct{})
	go func() { l.Run(context.Background()); close(done) }()
	stop := sync.OnceFunc(func() { l.Stop(); <-done })
	t.Cleanup(stop)
	return addr, stop
}

// svcCall sends one request and returns the reply's strings; the server
// ends its reply by shutting down its side, so the client reads to EOF.
func svcCall(t *testing.T, addr string, fields ...string) []string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	_, err = c.Write([]byte(strings.Join(fields, "\x00") + "\x00"))
	require.NoError(t, err)
	b, err := io.ReadAll(c)
	require.NoError(t, err)
	return strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
}

// A sender's ids run to 2^32-1 and wrap to 1, never 0, across a restart.
func TestSvcIDsWrapToOne(t *testing.T) {
	dir := t.TempDir()
	addr, stop := startSvcLoop(t, dir)
	require.Equal(t, []string{"0"}, svcCall(t, addr, "REGISTER", "Ann", "ann", "01/01/2000"))
	require.Equal(t, []string{"0"}, svcCall(t, addr, "REGISTER", "Bob", "bob", "01/01/2000"))
	assert.Equal(t, []string{"0", "1"}, svcCall(t, addr, "SEND", "ann", "bob", "first"))
	stop()

	// Move ann's counter near the end while the service is down.
	s, err := openStore(dir, 0)
	require.NoError(t, err)
	var ann svcRecord
	require.NoError(t, s.svcUsers(func(alias string, rec svcRecord) {
		if alias == "ann" {
			ann = rec
		}
	}))
	require.Equal(t, uint32(1), ann.LastID)
	ann.LastID = math.MaxUint32 - 1
	s.putSvcUser("ann", &ann)
	s.commit()
	require.NoError(t, s.usable())
	s.close()

	addr, _ = startSvcLoop(t, dir)
	for _, want := range []string{"4294967295", "1", "2"} {
		assert.Equal(t, []string{"0", want}, svcCall(t, addr, "SEND", "ann", "bob", "x"))
	}
	assert.Equal(t, []string{"0", "1"}, svcCall(t, addr, "SEND", "bob", "ann", "ids are per sender"))
}

func TestFormatMsg(t *testing.T) {
	for in, want := range map[string]string{
		"":                         "",
		"   ":                      "",
		"hello":                    "hello",
		"  hello   big \t world  ": "hello big world",
		"a\n\nb\r\nc":              "a b c",
	} {
		assert.Equal(t, want, formatMsg(in), "%q", in)
	}
}

func TestHTTPFormatHandlers(t *testing.T) {
	srv := httptest.NewServer((&Loop{}).httpMux())
	defer srv.Close()

	res, err := http.Post(srv.URL+"/format", "application/json", strings.NewReader(`{"msg":"  a   b  "}`))
	require.NoError(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.JSONEq(t, `{"result":"a b"}`, string(body))

	res, err = http.Post(srv.URL+"/format", "application/json", strings.NewReader(`{"text":1}`))
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusBadRequest, res.StatusCode)

	env := `<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>` +
		`<ns0:format xmlns:ns0="urn:padchat:FormatMSG"><ns0:msg>  x &amp;   y </ns0:msg></ns0:format></s:Body></s:Envelope>`
	res, err = http.Post(srv.URL+"/", "text/xml; charset=utf-8", strings.NewReader(env))
	require.NoError(t, err)
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, string(body), "<tns:formatResult>x &amp; y</tns:formatResult>")
}

// FuzzFormatSOAP: whatever the body, the SOAP endpoint answers a result or
// a fault, and never panics.
func FuzzFormatSOAP(f *testing.F) {
	f.Add([]byte(`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><format><msg> a  b </msg></format></s:Body></s:Envelope>`))
	f.Add([]byte(`<Envelope><Body/></Envelope>`))
	f.Add([]byte("\x00\xff<"))
	mux := (&Loop{}).httpMux()
	f.Fuzz(func(t *testing.T, body []byte) {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body)))
		require.Contains(t, []int{http.StatusOK, http.StatusInternalServerError}, w.Code)
		require.Contains(t, w.Body.String(), "Envelope")
		if w.Code == http.StatusOK {
			require.Contains(t, w.Body.String(), "formatResult")
		}
	})
}

// syncBuffer is a log sink the loop goroutine writes while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Every SEND shows on the console, the ones that store nothing too.
func TestSvcLogsFailedSend(t *testing.T) {
	logs := &syncBuffer{}
	addr, _ := startSvcLoopLog(t, t.TempDir(), zerolog.New(logs))

	require.Equal(t, []string{"0"}, svcCall(t, addr, "REGISTER", "Ann", "ann", "01/01/2000"))
	assert.Equal(t, []string{"1"}, svcCall(t, addr, "SEND", "ann", "nobody", "x"))
	assert.Equal(t, []string{"2"}, svcCall(t, addr, "SEND", "ann", "ann", strings.Repeat("m", 300)))
	assert.Equal(t, []string{"0", "1"}, svcCall(t, addr, "SEND", "ann", "ann", "to myself"))
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), "s> MESSAGE 1 FROM ann TO ann STORED") },
		10*time.Second, 10*time.Millisecond)
	out := logs.String()
	assert.Contains(t, out, `"s> SEND FROM ann TO nobody FAIL"`)
	assert.Equal(t, 1, strings.Count(out, `"s> SEND FROM ann TO ann FAIL"`), "the over-long text, not the good one")
}
