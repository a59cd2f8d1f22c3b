// End to end over the --http listener: the message service's FormatMSG web service, as SOAP 1.1 and as JSON.
package tests

import (
	"encoding/json"
	"encoding/xml"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func startHTTP(t *testing.T) (*daemon, string) {
	t.Helper()
	d := startServer(t, "--http", "127.0.0.1:0")
	return d, "http://" + logAddr(t, d, "http listening")
}

func httpDo(t *testing.T, req *http.Request) (int, string, http.Header) {
	t.Helper()
	res, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, string(b), res.Header
}

func TestFormatWebService(t *testing.T) {
	_, base := startHTTP(t)

	// The WSDL a zeep client starts from.
	req, _ := http.NewRequest(http.MethodGet, base+"/?wsdl", nil)
	code, wsdl, hdr := httpDo(t, req)
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, hdr.Get("Content-Type"), "xml")
	for _, s := range []string{`<wsdl:service name="FormatMSG">`, `name="formatResult"`, `<wsdl:operation name="format">`,
		`style="document"`, `use="literal"`, `location="` + base + `/"`} {
		assert.Contains(t, wsdl, s)
	}
	var defs struct {
		Name string `xml:"name,attr"`
	}
	require.NoError(t, xml.Unmarshal([]byte(wsdl), &defs), "the WSDL is well-formed XML")
	assert.Equal(t, "FormatMSG", defs.Name)

	// A SOAP 1.1 call as zeep sends it.
	envelope := `<?xml version='1.0' encoding='utf-8'?>
<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/"><soap-env:Body>` +
		`<ns0:format xmlns:ns0="urn:padchat:FormatMSG"><ns0:msg>   hello    big` + "\t\t" + `world &lt;3   </ns0:msg></ns0:format>` +
		`</soap-env:Body></soap-env:Envelope>`
	req, _ = http.NewRequest(http.MethodPost, base+"/", strings.NewReader(envelope))
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("SOAPAction", `"format"`)
	code, body, _ := httpDo(t, req)
	require.Equal(t, http.StatusOK, code, body)
	var res struct {
		Result string `xml:"Body>formatResponse>formatResult"`
	}
	require.NoError(t, xml.Unmarshal([]byte(body), &res))
	assert.Equal(t, "hello big world <3", res.Result)

	// Anything else is a SOAP fault.
	req, _ = http.NewRequest(http.MethodPost, base+"/", strings.NewReader("<not soap"))
	code, body, _ = httpDo(t, req)
	assert.Equal(t, http.StatusInternalServerError, code)
	assert.Contains(t, body, "<faultcode>soapenv:Client</faultcode>")

	// The same operation as JSON.
	req, _ = http.NewRequest(http.MethodPost, base+"/format", strings.NewReader(`{"msg":"  one   two  three "}`))
	req.Header.Set("Content-Type", "application/json")
	code, body, _ = httpDo(t, req)
	require.Equal(t, http.StatusOK, code)
	var out struct{ Result string }
	require.NoError(t, json.Unmarshal([]byte(body), &out))
	assert.Equal(t, "one two three", out.Result)

	req, _ = http.NewRequest(http.MethodPost, base+"/format", strings.NewReader(`{"msg":`))
	code, _, _ = httpDo(t, req)
	assert.Equal(t, http.StatusBadRequest, code)
}

// Malformed HTTP gets an error or a close for its own connection only.
func TestHTTPMalformedInput(t *testing.T) {
	_, base := startHTTP(t)
	host := strings.TrimPrefix(base, "http://")

	stalled, err := net.Dial("tcp", host)
	require.NoError(t, err)
	defer stalled.Close()
	_, err = stalled.Write([]byte("POST /format HTTP/1.1\r\nHost: x\r\nContent-Le"))
	require.NoError(t, err)

	for what, payload := range map[string]string{
		"binary junk":       "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\xff\xfe\r\n\r\n",
		"a 1 MB line":       "GET /" + strings.Repeat("a", 1<<20) + " HTTP/1.1\r\nHost: x\r\n\r\n",
		"a 1 MB header":     "GET / HTTP/1.1\r\nX: " + strings.Repeat("b", 1<<20) + "\r\n\r\n",
		"an oversized body": "POST /format HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\n\r\n{\"msg\":\"" + strings.Repeat(" ", 1<<20-8),
	} {
		c, err := net.Dial("tcp", host)
		require.NoError(t, err)
		go c.Write([]byte(payload)) // may fail midway once the server closes
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		b, _ := io.ReadAll(c)
		c.Close()
		if len(b) > 0 {
			assert.Regexp(t, `^HTTP/1\.1 4\d\d `, string(b), what)
		}
	}

	req, _ := http.NewRequest(http.MethodPost, base+"/format", strings.NewReader(`{"msg":"still  here"}`))
	code, body, _ := httpDo(t, req)
	assert.Equal(t, http.StatusOK, code)
	assert.JSONEq(t, `{"result":"still here"}`, body)
}
