package server_test

import (
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opentoken/opentoken/internal/gatewaytest"
	"github.com/opentoken/opentoken/server"
)

// pdf is a tiny PDF's bytes; png a tiny PNG's.
var (
	pdf = []byte("%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
	png = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	wav = []byte("RIFF\x24\x00\x00\x00WAVEfmt ")
)

// media is a loopback server of an image and a PDF, counting what it is
// asked.
type media struct {
	*httptest.Server
	hits atomic.Int64
}

func serveMedia(t *testing.T) *media {
	m := &media{}
	m.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.hits.Add(1)
		switch r.URL.Path {
		case "/cat.png":
			w.Header().Set("Content-Type", "image/png")
			_, _ = w.Write(png)
		case "/memo.pdf":
			w.Header().Set("Content-Type", "application/pdf")
			_, _ = w.Write(pdf)
		case "/big.png":
			w.Header().Set("Content-Type", "image/png")
			_, _ = w.Write(make([]byte, 4096))
		case "/slow.png":
			<-r.Context().Done() // nothing until the gateway gives up
		case "/page.html":
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte("<html></html>"))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(m.Close)
	return m
}

func loopback(ip netip.Addr) bool { return ip.IsLoopback() }

// lastBody is the body the upstream of model got last.
func lastBody(env *gatewaytest.Env, model string) string {
	if strings.HasPrefix(model, "anthropic/") {
		r, _ := env.Anthropic.Requests.Last()
		return string(r.Body)
	}
	r, _ := env.Gemini.Requests.Last()
	return string(r.Body)
}

// TestFilesAndAudio: a PDF as an OpenAI file part reaches Claude as a
// document block and Gemini as inlineData; audio reaches Gemini as
// inlineData and is refused on Claude, naming the part and the models that
// read audio; a file id (OpenAI's storage) is refused.
func TestFilesAndAudio(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{})
	pdfData := base64.StdEncoding.EncodeToString(pdf)
	file := `{"type":"file","file":{"filename":"memo.pdf","file_data":"data:application/pdf;base64,` + pdfData + `"}}`
	for model, want := range map[string]string{
		"anthropic/claude-sonnet-4-6": `{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"` + pdfData + `"},"title":"memo.pdf"}`,
		"google/gemini-3-flash":       `{"inlineData":{"mimeType":"application/pdf","data":"` + pdfData + `"}}`,
	} {
		r := env.Chat(t, `{"model":"`+model+`","messages":[{"role":"user","content":[{"type":"text","text":"Summarise."},`+file+`]}]}`)
		if r.Status != 200 || !strings.Contains(lastBody(env, model), want) {
			t.Errorf("%s: a PDF file part: %d %s, sent %.600s", model, r.Status, r.Body, lastBody(env, model))
		}
	}
	audio := `{"type":"input_audio","input_audio":{"data":"` + base64.StdEncoding.EncodeToString(wav) + `","format":"wav"}}`
	r := env.Chat(t, `{"model":"google/gemini-2.5-pro","messages":[{"role":"user","content":[{"type":"text","text":"Transcribe."},`+audio+`]}]}`)
	if r.Status != 200 || !strings.Contains(lastBody(env, "google/gemini-2.5-pro"), `{"inlineData":{"mimeType":"audio/wav","data":"`) {
		t.Errorf("audio on Gemini: %d %s", r.Status, r.Body)
	}
	before := env.Anthropic.Requests.Count()
	r = env.Chat(t, `{"model":"anthropic/claude-haiku-4-5","messages":[{"role":"user","content":[{"type":"text","text":"Transcribe."},`+audio+`]}]}`)
	var e struct {
		Error struct{ Code, Param, Message string }
	}
	_ = json.Unmarshal(r.Body, &e)
	if r.Status != 400 || e.Error.Code != "unsupported_parameter" || e.Error.Param != "messages[0].content[1]" ||
		!strings.Contains(e.Error.Message, "google/gemini-3-flash") || env.Anthropic.Requests.Count() != before {
		t.Errorf("audio on Claude: %d %s", r.Status, r.Body)
	}
	r = env.Chat(t, `{"model":"google/gemini-3-flash","messages":[{"role":"user","content":[{"type":"file","file":{"file_id":"file-abc"}}]}]}`)
	if r.Status != 400 || !strings.Contains(string(r.Body), "file_id") {
		t.Errorf("a file id: %d %s", r.Status, r.Body)
	}
}

// TestURLsFetchedForGemini: an image and a PDF by URL reach Gemini inline,
// fetched by the gateway (here from a loopback server the test allows),
// once for repeats; Claude gets the URLs as they are, for Anthropic to
// fetch; a URL that is not what its part says is a 400 naming the host.
func TestURLsFetchedForGemini(t *testing.T) {
	srv := serveMedia(t)
	env := gatewaytest.Start(t, gatewaytest.Options{FetchAllow: loopback})
	parts := `[{"type":"text","text":"Describe both."},{"type":"image_url","image_url":{"url":"` + srv.URL + `/cat.png"}},` +
		`{"type":"file","file":{"filename":"memo.pdf","file_data":"` + srv.URL + `/memo.pdf"}}]`
	body := `{"model":"google/gemini-3-flash","messages":[{"role":"user","content":` + parts + `}]}`
	for range 2 {
		r := env.Chat(t, body)
		sent := lastBody(env, "google/gemini-3-flash")
		if r.Status != 200 || !strings.Contains(sent, `{"inlineData":{"mimeType":"image/png","data":"`+base64.StdEncoding.EncodeToString(png)+`"}}`) ||
			!strings.Contains(sent, `{"inlineData":{"mimeType":"application/pdf","data":"`+base64.StdEncoding.EncodeToString(pdf)+`"}}`) {
			t.Fatalf("URLs to Gemini: %d %s, sent %.800s", r.Status, r.Body, sent)
		}
	}
	if n := srv.hits.Load(); n != 2 {
		t.Errorf("the server was asked %d times for two URLs sent twice; the repeats come from the cache", n)
	}
	r := env.Chat(t, strings.Replace(body, "google/gemini-3-flash", "anthropic/claude-sonnet-4-6", 1))
	sent := lastBody(env, "anthropic/claude-sonnet-4-6")
	if r.Status != 200 || !strings.Contains(sent, `{"type":"image","source":{"type":"url","url":"`+srv.URL+`/cat.png"}}`) ||
		!strings.Contains(sent, `"source":{"type":"url","url":"`+srv.URL+`/memo.pdf"}`) || srv.hits.Load() != 2 {
		t.Errorf("URLs to Claude: %d %s, sent %.800s", r.Status, r.Body, sent)
	}
	host, _, _ := strings.Cut(strings.TrimPrefix(srv.URL, "http://"), ":")
	for name, c := range map[string]struct{ part, param, want string }{
		"an HTML page as an image": {`{"type":"image_url","image_url":{"url":"` + srv.URL + `/page.html"}}`, "messages[0].content[0].image_url.url", "is text/html, not image/jpeg"},
		"a missing image":          {`{"type":"image_url","image_url":{"url":"` + srv.URL + `/nope.png"}}`, "messages[0].content[0].image_url.url", "could not fetch " + host + ": it answered HTTP 404"},
		"an image as a PDF":        {`{"type":"file","file":{"file_data":"` + srv.URL + `/cat.png"}}`, "messages[0].content[0]", "is image/png, not application/pdf"},
	} {
		r := env.Chat(t, `{"model":"google/gemini-3-flash","messages":[{"role":"user","content":[`+c.part+`]}]}`)
		var e struct {
			Error struct{ Param, Message string }
		}
		_ = json.Unmarshal(r.Body, &e)
		if r.Status != 400 || e.Error.Param != c.param || !strings.Contains(e.Error.Message, c.want) {
			t.Errorf("%s: %d %s", name, r.Status, r.Body)
		}
	}
}

// TestURLFetchRefusesPrivateAddresses: without an allowance, a URL on a
// loopback, private or metadata address — or a name resolving to one —
// is a 400 naming the host, before any connection is made to it.
func TestURLFetchRefusesPrivateAddresses(t *testing.T) {
	srv := serveMedia(t)
	var conns atomic.Int64
	srv.Config.ConnState = func(net.Conn, http.ConnState) { conns.Add(1) }
	env := gatewaytest.Start(t, gatewaytest.Options{})
	port := srv.URL[strings.LastIndex(srv.URL, ":"):]
	for _, u := range []string{srv.URL + "/cat.png", "http://localhost" + port + "/cat.png", "http://[::1]" + port + "/cat.png",
		"http://10.1.2.3/cat.png", "http://169.254.169.254/latest/meta-data/"} {
		r := env.Chat(t, `{"model":"google/gemini-3-flash","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"`+u+`"}}]}]}`)
		if r.Status != 400 || !strings.Contains(string(r.Body), "not public") {
			t.Errorf("%s: %d %s", u, r.Status, r.Body)
		}
	}
	if n := conns.Load(); n != 0 {
		t.Errorf("%d connections reached the private server", n)
	}
}

// TestURLFetchBounds: a URL whose body is over OPENTOKEN_FETCH_MAX_BYTES,
// or that does not answer within OPENTOKEN_FETCH_TIMEOUT, is a 400 within
// the bound; the Messages door's image and document URLs are fetched for
// Gemini as the chat door's are.
func TestURLFetchBounds(t *testing.T) {
	srv := serveMedia(t)
	env := gatewaytest.Start(t, gatewaytest.Options{FetchAllow: loopback,
		Limits: server.Limits{FetchMaxBytes: 1024, FetchTimeout: 300 * time.Millisecond}})
	for path, want := range map[string]string{"/big.png": "over the limit of 1024 bytes", "/slow.png": "no answer within 300ms"} {
		start := time.Now()
		r := env.Chat(t, `{"model":"google/gemini-3-flash","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"`+srv.URL+path+`"}}]}]}`)
		if r.Status != 400 || !strings.Contains(string(r.Body), want) || time.Since(start) > 2*time.Second {
			t.Errorf("%s: %d %s after %v", path, r.Status, r.Body, time.Since(start))
		}
	}
	r := env.Messages(t, "/v1/messages", `{"model":"gemini-3-flash","max_tokens":100,"messages":[{"role":"user","content":[`+
		`{"type":"image","source":{"type":"url","url":"`+srv.URL+`/cat.png"}},{"type":"document","source":{"type":"url","url":"`+srv.URL+`/memo.pdf"}},{"type":"text","text":"Both?"}]}]}`)
	sent := lastBody(env, "google/gemini-3-flash")
	if r.Status != 200 || !strings.Contains(sent, `"mimeType":"image/png"`) || !strings.Contains(sent, `"mimeType":"application/pdf"`) {
		t.Errorf("the Messages door's URLs to Gemini: %d %s, sent %.600s", r.Status, r.Body, sent)
	}
}
