// The --http listener: the message service's FormatMSG web service (SOAP 1.1 and JSON), served off the loop.
package server

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	stdlog "log"
	"net"
	"net/http"
	"strings"
	"time"
)

// webService is the HTTP server. net/http blocks, so it runs in goroutines of
// its own (DESIGN: work that must block runs elsewhere); its handlers touch no
// loop state.
type webService struct {
	srv  *http.Server
	done chan struct{}
}

const httpBodyMax = 64 << 10

// startHTTP binds cfg.HTTP, if set, and serves it until shutdown.
func (l *Loop) startHTTP() error {
	if l.cfg.HTTP == "" {
		return nil
	}
	ln, err := net.Listen("tcp", l.cfg.HTTP)
	if err != nil {
		return fmt.Errorf("http: %w", err)
	}
	srv := &http.Server{
		Handler:           l.httpMux(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          stdlog.New(l.log.With().Str("component", "http").Logger(), "", 0),
	}
	w := &webService{srv: srv, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			l.log.Error().Err(err).Msg("http server stopped")
		}
	}()
	l.web = w
	l.log.Info().Str("addr", ln.Addr().String()).Msg("http listening")
	return nil
}

// stopHTTP lets requests in flight finish (briefly), then closes the server.
func (l *Loop) stopHTTP() {
	if l.web == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := l.web.srv.Shutdown(ctx); err != nil {
		l.web.srv.Close()
	}
	<-l.web.done
	l.web = nil
}

// httpMux routes the daemon's HTTP endpoints; add new ones here.
func (l *Loop) httpMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", serveWSDL)
	mux.HandleFunc("POST /{$}", serveSOAP)
	mux.HandleFunc("POST /format", serveFormatJSON)
	mux.HandleFunc("GET /healthz", l.serveHealth)
	mux.HandleFunc("GET /metrics", l.serveMetrics)
	return mux
}

// formatMsg is the service's one operation (docs/DIALECTS.md): every run of
// white space between words becomes one space, and the ends are trimmed.
func formatMsg(s string) string { return strings.Join(strings.Fields(s), " ") }

// serveFormatJSON: POST /format {"msg": "..."} → {"result": "..."}.
func serveFormatJSON(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Msg *string `json:"msg"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, httpBodyMax))
	if err := dec.Decode(&req); err != nil || req.Msg == nil {
		if err == nil {
			err = errors.New(`missing "msg"`)
		}
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"result": formatMsg(*req.Msg)})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

const (
	soapEnvNS = "http://schemas.xmlsoap.org/soap/envelope/"
	formatNS  = "urn:padchat:FormatMSG"
)

// soapRequest is a SOAP 1.1 envelope carrying format(msg). Child elements
// match by local name, whatever prefix or namespace a client gives them.
type soapRequest struct {
	XMLName xml.Name `xml:"http://schemas.xmlsoap.org/soap/envelope/ Envelope"`
	Body    struct {
		Format *struct {
			Msg string `xml:"msg"`
		} `xml:"format"`
	} `xml:"Body"`
}

// serveSOAP answers format(msg) with formatResponse/formatResult, or a fault.
func serveSOAP(w http.ResponseWriter, r *http.Request) {
	var req soapRequest
	err := xml.NewDecoder(http.MaxBytesReader(w, r.Body, httpBodyMax)).Decode(&req)
	switch {
	case err != nil:
		soapFault(w, "soapenv:Client", "malformed SOAP 1.1 envelope: "+err.Error())
		return
	case req.Body.Format == nil:
		soapFault(w, "soapenv:Client", "unknown operation: this service has only format(msg)")
		return
	}
	var b strings.Builder
	b.WriteString(xml.Header)
	b.WriteString(`<soapenv:Envelope xmlns:soapenv="` + soapEnvNS + `" xmlns:tns="` + formatNS + `">`)
	b.WriteString(`<soapenv:Body><tns:formatResponse><tns:formatResult>`)
	xml.EscapeText(&b, []byte(formatMsg(req.Body.Format.Msg)))
	b.WriteString(`</tns:formatResult></tns:formatResponse></soapenv:Body></soapenv:Envelope>`)
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.Write([]byte(b.String()))
}

// soapFault sends a SOAP 1.1 fault, which travels with status 500.
func soapFault(w http.ResponseWriter, code, msg string) {
	var b strings.Builder
	b.WriteString(xml.Header)
	b.WriteString(`<soapenv:Envelope xmlns:soapenv="` + soapEnvNS + `"><soapenv:Body><soapenv:Fault>`)
	b.WriteString(`<faultcode>` + code + `</faultcode><faultstring>`)
	xml.EscapeText(&b, []byte(msg))
	b.WriteString(`</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>`)
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusInternalServerError)
	w.Write([]byte(b.String()))
}

// serveWSDL describes the service at /?wsdl: document/literal wrapped, the
// style zeep and spyne expect, with its address taken from the request.
func serveWSDL(w http.ResponseWriter, r *http.Request) {
	if _, ok := r.URL.Query()["wsdl"]; !ok && !strings.EqualFold(r.URL.RawQuery, "wsdl") {
		http.Error(w, "FormatMSG SOAP service: its description is at /?wsdl", http.StatusNotFound)
		return
	}
	var loc strings.Builder
	xml.EscapeText(&loc, []byte("http://"+r.Host+"/"))
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	fmt.Fprintf(w, wsdlTemplate, loc.String())
}

const wsdlTemplate = xml.Header + `<wsdl:definitions name="FormatMSG" targetNamespace="` + formatNS + `"
    xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/"
    xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
    xmlns:xsd="http://www.w3.org/2001/XMLSchema"
    xmlns:tns="` + formatNS + `">
  <wsdl:types>
    <xsd:schema targetNamespace="` + formatNS + `" elementFormDefault="qualified">
      <xsd:element name="format">
        <xsd:complexType>
          <xsd:sequence>
            <xsd:element name="msg" type="xsd:string" minOccurs="0" nillable="true"/>
          </xsd:sequence>
        </xsd:complexType>
      </xsd:element>
      <xsd:element name="formatResponse">
        <xsd:complexType>
          <xsd:sequence>
            <xsd:element name="formatResult" type="xsd:string" minOccurs="0" nillable="true"/>
          </xsd:sequence>
        </xsd:complexType>
      </xsd:element>
    </xsd:schema>
  </wsdl:types>
  <wsdl:message name="format">
    <wsdl:part name="format" element="tns:format"/>
  </wsdl:message>
  <wsdl:message name="formatResponse">
    <wsdl:part name="formatResponse" element="tns:formatResponse"/>
  </wsdl:message>
  <wsdl:portType name="FormatMSG">
    <wsdl:operation name="format">
      <wsdl:input name="format" message="tns:format"/>
      <wsdl:output name="formatResponse" message="tns:formatResponse"/>
    </wsdl:operation>
  </wsdl:portType>
  <wsdl:binding name="FormatMSG" type="tns:FormatMSG">
    <soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
    <wsdl:operation name="format">
      <soap:operation soapAction="format" style="document"/>
      <wsdl:input name="format"><soap:body use="literal"/></wsdl:input>
      <wsdl:output name="formatResponse"><soap:body use="literal"/></wsdl:output>
    </wsdl:operation>
  </wsdl:binding>
  <wsdl:service name="FormatMSG">
    <wsdl:port name="FormatMSG" binding="tns:FormatMSG">
      <soap:address location="%s"/>
    </wsdl:port>
  </wsdl:service>
</wsdl:definitions>
`
