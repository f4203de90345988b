package server

import (
	"context"
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/opentoken/opentoken/internal/fetch"
	"github.com/opentoken/opentoken/llm"
	"github.com/opentoken/opentoken/matrix"
)

// imageTypes are the image media types every upstream here reads.
var imageTypes = map[string]bool{"image/jpeg": true, "image/png": true, "image/gif": true, "image/webp": true}

// inline fetches the images and PDFs a request gives by http(s) URL when
// m's upstream does not fetch them itself (spec's fetches_urls), and
// puts their bytes in place, base64, as the upstream takes them inline.
// A fetch that fails, or brings what the part is not, is a 400 naming the
// part and the URL's host. Parts already inline are left as they are, so a
// fallback model does not fetch again.
func (s *Server) inline(req *llm.Request, m *matrix.Model) *llm.Error {
	if m.FetchesURLs.Has(matrix.ModImage) && m.FetchesURLs.Has(matrix.ModPDF) {
		return nil
	}
	for i := range req.Messages {
		msg := &req.Messages[i]
		for j := range msg.Content.Parts {
			p := &msg.Content.Parts[j]
			switch {
			case p.Type == "image_url" && p.ImageURL != nil && llm.IsHTTPURL(p.ImageURL.URL) && !m.FetchesURLs.Has(matrix.ModImage):
				at := partAt(i, j) + ".image_url.url"
				mediaType, data, e := s.fetchFor(p.ImageURL.URL, at)
				if e != nil {
					return e
				}
				if !imageTypes[mediaType] {
					return llm.BadRequest(at, "the image at "+hostOf(p.ImageURL.URL)+" is "+orUnknown(mediaType)+", not image/jpeg, image/png, image/gif or image/webp")
				}
				p.ImageURL = &llm.ImageURL{URL: "data:" + mediaType + ";base64," + base64.StdEncoding.EncodeToString(data), Detail: p.ImageURL.Detail}
			case p.Type == "document" && p.Document != nil && p.Document.URL != "" && !m.FetchesURLs.Has(matrix.ModPDF):
				at := partAt(i, j)
				mediaType, data, e := s.fetchFor(p.Document.URL, at)
				if e != nil {
					return e
				}
				if mediaType != "application/pdf" {
					return llm.BadRequest(at, "the document at "+hostOf(p.Document.URL)+" is "+orUnknown(mediaType)+", not application/pdf")
				}
				d := *p.Document
				d.URL, d.MediaType, d.Data = "", mediaType, base64.StdEncoding.EncodeToString(data)
				p.Document = &d
			}
		}
	}
	return nil
}

// fetchFor fetches a URL for the part at path. The fetch has its own
// deadline (OPENTOKEN_FETCH_TIMEOUT); it does not derive from the request's
// fasthttp context, which is not safe for the timer goroutines of a
// derived one.
func (s *Server) fetchFor(url, at string) (string, []byte, *llm.Error) {
	mediaType, data, err := s.fetcher.Fetch(context.Background(), url)
	if err != nil {
		msg := err.Error()
		if fe, ok := err.(*fetch.Error); ok {
			msg = fe.Error() + " (the model's upstream reads no URL, so the gateway fetches it)"
		}
		return "", nil, llm.BadRequest(at, msg)
	}
	return mediaType, data, nil
}

func partAt(i, j int) string {
	return "messages[" + strconv.Itoa(i) + "].content[" + strconv.Itoa(j) + "]"
}

// hostOf is a URL's host, for messages.
func hostOf(u string) string {
	rest := u[strings.Index(u, "//")+2:]
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	return rest
}

func orUnknown(mediaType string) string {
	if mediaType == "" {
		return "of no stated type"
	}
	return mediaType
}
