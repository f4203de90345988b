package server_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/opentoken/opentoken/internal/gatewaytest"
)

// TestRequestsOnOneConnectionArriveWhole: the client connection's
// read-ahead (readahead.go) hands the server each request exactly as it was
// sent however it arrives — two in one write, one in pieces a byte at a
// time, one larger than what is read ahead — and the upstream gets each
// message as the client wrote it.
func TestRequestsOnOneConnectionArriveWhole(t *testing.T) {
	bodies := make(chan string, 8)
	up := gatewaytest.StartRaw(t, func(c net.Conn, br *bufio.Reader) {
		for {
			req := gatewaytest.ReadRequest(br)
			if req == nil {
				return
			}
			body, _ := io.ReadAll(req.Body)
			bodies <- string(body)
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(anthropicAnswer), anthropicAnswer)
		}
	})
	env := gatewaytest.Start(t, gatewaytest.Options{AnthropicURL: up.URL})
	conn, err := net.Dial("tcp", strings.TrimPrefix(env.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	request := func(text string) string {
		body := `{"model":"` + claudeModel + `","messages":[{"role":"user","content":"` + text + `"}]}`
		return fmt.Sprintf("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
			gatewaytest.ClientKey, len(body), body)
	}
	large := strings.Repeat("0123456789", 2000) // 20 KB: beyond the read-ahead's 4 KiB
	sent := []string{"first", "second", "in pieces", large}
	writes := []string{request(sent[0]) + request(sent[1])}
	for _, b := range []byte(request(sent[2])) {
		writes = append(writes, string(b))
	}
	writes = append(writes, request(sent[3]))
	go func() {
		for _, w := range writes {
			if _, err := io.WriteString(conn, w); err != nil {
				return
			}
		}
	}()
	br := bufio.NewReader(conn)
	for i, want := range sent {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		r := gatewaytest.ReadResponse(t, resp)
		if r.Status != 200 {
			t.Fatalf("request %d: %d %s", i, r.Status, r.Body)
		}
		if got := <-bodies; !strings.Contains(got, `"`+want+`"`) {
			t.Errorf("request %d: the upstream got %.200s, not the message %.40q", i, got, want)
		}
	}
}
