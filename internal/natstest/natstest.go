// Package natstest runs an embedded NATS server for tests: JetStream on and
// encrypted at rest, mutual TLS with a throwaway CA, a user and password, port 0.
package natstest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/stretchr/testify/require"
)

// Env is a running NATS server and the files a node needs to reach it.
type Env struct {
	Srv *server.Server
	URL string // tls://user:password@127.0.0.1:port
	// CA signs the server's certificate; Cert and Key are a client's.
	CA, Cert, Key string
	opts          *server.Options
}

// Start runs a server until the test ends. Its JetStream store lives under
// dir (t.TempDir() when empty), so a restart on the same dir keeps the data.
func Start(t testing.TB, dir string) *Env {
	t.Helper()
	e := prepare(t, dir, "padchat-test")
	e.start(t)
	t.Cleanup(e.Stop)
	return e
}

// StartCluster runs n servers routed into one NATS cluster with clustered
// JetStream, each as Start's (TLS for clients, encryption at rest), and
// waits until JetStream has elected its meta leader. The routes between the
// servers are plain TCP on 127.0.0.1. The route ports are picked ahead, so
// another process may take one meanwhile: a cluster that does not come up
// is stopped and started again on fresh ports, up to three times.
func StartCluster(t testing.TB, n int) []*Env {
	t.Helper()
	pki := t.TempDir()
	var err error
	for attempt := 1; attempt <= 3; attempt++ {
		var envs []*Env
		if envs, err = startCluster(t, pki, n); err == nil {
			return envs
		}
		t.Logf("NATS cluster of %d, attempt %d: %v", n, attempt, err)
	}
	require.NoError(t, err)
	return nil
}

func startCluster(t testing.TB, pki string, n int) ([]*Env, error) {
	ports := make([]int, n)
	var routes []*url.URL
	for i := range ports {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		ports[i] = ln.Addr().(*net.TCPAddr).Port
		require.NoError(t, ln.Close())
		routes = append(routes, &url.URL{Scheme: "nats-route", Host: fmt.Sprintf("127.0.0.1:%d", ports[i])})
	}
	var envs []*Env
	stop := func() {
		for _, e := range envs {
			e.Stop()
		}
	}
	for i := range n {
		e := prepare(t, pki, fmt.Sprintf("padchat-test-%d", i+1))
		e.opts.StoreDir = filepath.Join(t.TempDir(), "js")
		e.opts.Cluster = server.ClusterOpts{Name: "padchat-test", Host: "127.0.0.1", Port: ports[i]}
		e.opts.Routes = routes
		// Clustered JetStream is ready only once its peers are up: launch
		// them all, then wait.
		e.launch(t)
		t.Cleanup(e.Stop)
		envs = append(envs, e)
	}
	for _, e := range envs {
		if !e.Srv.ReadyForConnections(30 * time.Second) {
			stop()
			return nil, fmt.Errorf("%s not ready for connections", e.opts.ServerName)
		}
		e.setURL()
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, e := range envs {
		for !e.Srv.JetStreamIsClustered() || !e.Srv.JetStreamIsCurrent() || e.Srv.NumRoutes() < n-1 {
			if time.Now().After(deadline) {
				stop()
				return nil, fmt.Errorf("did not form in 30 s")
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return envs, nil
}

// prepare makes the PKI under dir (once) and the options of a server called name.
func prepare(t testing.TB, dir, name string) *Env {
	if dir == "" {
		dir = t.TempDir()
	}
	pki := filepath.Join(dir, "pki")
	require.NoError(t, os.MkdirAll(pki, 0o700))
	e := &Env{CA: filepath.Join(pki, "ca.pem"), Cert: filepath.Join(pki, "client.pem"), Key: filepath.Join(pki, "client-key.pem")}
	if _, err := os.Stat(e.CA); err != nil {
		makePKI(t, pki)
	}
	serverTLS, err := server.GenTLSConfig(&server.TLSConfigOpts{
		CertFile: filepath.Join(pki, "server.pem"), KeyFile: filepath.Join(pki, "server-key.pem"),
		CaFile: e.CA, Verify: true, Timeout: 5,
	})
	require.NoError(t, err)
	e.opts = &server.Options{
		ServerName: name, Host: "127.0.0.1", Port: -1, NoSigs: true, NoLog: true,
		JetStream: true, StoreDir: filepath.Join(dir, "js"), JetStreamKey: "padchat-test-at-rest-key", SyncAlways: true,
		Username: "padchat", Password: "test-secret",
		TLS: true, TLSVerify: true, TLSConfig: serverTLS, TLSTimeout: 5,
	}
	return e
}

func (e *Env) start(t testing.TB) {
	e.launch(t)
	e.ready(t)
}

func (e *Env) launch(t testing.TB) {
	s, err := server.NewServer(e.opts)
	require.NoError(t, err)
	go s.Start()
	e.Srv = s
}

func (e *Env) ready(t testing.TB) {
	require.True(t, e.Srv.ReadyForConnections(20*time.Second), "nats-server not ready")
	e.setURL()
}

// setURL records the URL clients dial, once the server listens.
func (e *Env) setURL() {
	addr := e.Srv.Addr().(*net.TCPAddr)
	// Keep the port across restarts, so nodes reconnect to the same URL.
	e.opts.Port = addr.Port
	e.URL = fmt.Sprintf("tls://padchat:test-secret@127.0.0.1:%d", addr.Port)
}

// Stop shuts the server down (idempotent).
func (e *Env) Stop() {
	if e.Srv != nil {
		e.Srv.Shutdown()
		e.Srv.WaitForShutdown()
		e.Srv = nil
	}
}

// Restart stops the server and starts it again on the same port and store.
func (e *Env) Restart(t testing.TB) {
	e.Stop()
	e.start(t)
}

// makePKI writes a throwaway CA, a server certificate for 127.0.0.1 and a client certificate.
func makePKI(t testing.TB, dir string) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "padchat test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	ca, err := x509.ParseCertificate(caDER)
	require.NoError(t, err)
	writePEM(t, filepath.Join(dir, "ca.pem"), "CERTIFICATE", caDER)
	leaf := func(name string, serial int64, usage x509.ExtKeyUsage) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		require.NoError(t, err)
		kder, err := x509.MarshalECPrivateKey(key)
		require.NoError(t, err)
		writePEM(t, filepath.Join(dir, name+".pem"), "CERTIFICATE", der)
		writePEM(t, filepath.Join(dir, name+"-key.pem"), "EC PRIVATE KEY", kder)
	}
	leaf("server", 2, x509.ExtKeyUsageServerAuth)
	leaf("client", 3, x509.ExtKeyUsageClientAuth)
}

func writePEM(t testing.TB, path, typ string, der []byte) {
	require.NoError(t, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600))
}

// ClientTLS is the client side of the test PKI, for a test's own nats.go connection.
func (e *Env) ClientTLS(t testing.TB) *tls.Config {
	pemCA, err := os.ReadFile(e.CA)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(pemCA))
	c, err := tls.LoadX509KeyPair(e.Cert, e.Key)
	require.NoError(t, err)
	return &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{c}, MinVersion: tls.VersionTLS12}
}
