package sdktest

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"

	"github.com/opentoken/opentoken/generated"
	"github.com/opentoken/opentoken/internal/gatewaytest"
	"github.com/opentoken/opentoken/matrix"
)

// tinyPDF and tinyPNG are the documents the multimodal tests send.
var (
	tinyPDF = []byte("%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
	tinyPNG = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
)

// TestPDFAndImageURLThroughGateway: openai-go sends a PDF (a file part)
// and an image by URL to every chat model that reads them; for Gemini the
// gateway fetches the image (from a loopback server this test allows).
func TestPDFAndImageURLThroughGateway(t *testing.T) {
	media := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write(tinyPNG)
	}))
	defer media.Close()
	env := gatewaytest.Start(t, gatewaytest.Options{FetchAllow: func(ip netip.Addr) bool { return ip.IsLoopback() }})
	client := openaiClient(env, gatewaytest.ClientKey)
	pdf := "data:application/pdf;base64," + base64.StdEncoding.EncodeToString(tinyPDF)
	served := 0
	for _, m := range generated.Models {
		if m.Kind != matrix.KindChat || m.Retired != nil || !m.Inputs.Has(matrix.ModPDF) || !m.Inputs.Has(matrix.ModImage) {
			continue
		}
		served++
		c, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: m.ID,
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage([]openai.ChatCompletionContentPartUnionParam{
				openai.TextContentPart("Describe the memo and the picture."),
				openai.FileContentPart(openai.ChatCompletionContentPartFileFileParam{FileData: openai.String(pdf), Filename: openai.String("memo.pdf")}),
				openai.ImageContentPart(openai.ChatCompletionContentPartImageImageURLParam{URL: media.URL + "/cat.png"}),
			})}})
		if err != nil || !strings.HasPrefix(c.Choices[0].Message.Content, "Emulated") {
			t.Errorf("%s: %v %+v", m.ID, err, c)
		}
	}
	if served < 9 {
		t.Errorf("only %d models read PDFs and images", served)
	}
}
