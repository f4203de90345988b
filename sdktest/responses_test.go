package sdktest

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"

	"github.com/opentoken/opentoken/internal/gatewaytest"
)

// outputText joins a response's output_text parts.
func outputText(r *responses.Response) string {
	var b strings.Builder
	for _, it := range r.Output {
		for _, c := range it.Content {
			b.WriteString(c.Text)
		}
	}
	return b.String()
}

// TestOpenAIResponsesThroughGateway: openai-go's Responses client against
// the Responses door on a Claude and a Gemini model — a response buffered
// and streamed (the same text), a tool loop with reasoning sealed in
// encrypted_content, and input_tokens — with every answer and every
// event checked against OpenAI's OpenAPI spec.
func TestOpenAIResponsesThroughGateway(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{})
	client := openaiClient(env, gatewaytest.ClientKey)
	ctx := context.Background()
	weather := responses.ToolParamOfFunction("get_weather", map[string]any{"type": "object",
		"properties": map[string]any{"city": map[string]any{"type": "string"}}, "required": []string{"city"}}, false)

	for _, model := range []string{"anthropic/claude-sonnet-4-6", "google/gemini-3-flash"} {
		t.Run(strings.ReplaceAll(model, "/", "_"), func(t *testing.T) {
			params := responses.ResponseNewParams{Model: model, Instructions: openai.String("Be brief."), Store: openai.Bool(false),
				Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("Name three colours.")}}
			whole, err := client.Responses.New(ctx, params)
			if err != nil || whole.Status != "completed" || outputText(whole) == "" || whole.Usage.TotalTokens == 0 {
				t.Fatalf("a response: %v %+v", err, whole)
			}
			conform(t, "Response", []byte(whole.RawJSON()))

			stream := client.Responses.NewStreaming(ctx, params)
			text, completed := "", false
			for stream.Next() {
				ev := stream.Current()
				conform(t, eventSchema(t, ev.Type), []byte(ev.RawJSON()))
				switch ev.Type {
				case "response.output_text.delta":
					text += ev.Delta
				case "response.completed":
					completed = true
					conform(t, "Response", []byte(ev.Response.RawJSON()))
				}
			}
			if err := stream.Err(); err != nil || !completed || text != outputText(whole) {
				t.Fatalf("a streamed response: %v, completed %v, %q vs %q", err, completed, text, outputText(whole))
			}

			// A tool loop with reasoning, as Codex runs it: store false, the
			// reasoning's encrypted_content included and sent back.
			loop := responses.ResponseNewParams{Model: model, Store: openai.Bool(false), Tools: []responses.ToolUnionParam{weather},
				Include: []responses.ResponseIncludable{"reasoning.encrypted_content"}, MaxOutputTokens: openai.Int(8000),
				Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("get_weather for Accra?")}}
			loop.Reasoning.Effort = "medium"
			first, err := client.Responses.New(ctx, loop)
			if err != nil {
				t.Fatal(err)
			}
			conform(t, "Response", []byte(first.RawJSON()))
			items := []any{map[string]any{"role": "user", "content": "get_weather for Accra?"}}
			callID, sealed := "", false
			for _, it := range first.Output {
				var raw map[string]any
				_ = json.Unmarshal([]byte(it.RawJSON()), &raw)
				items = append(items, raw)
				switch it.Type {
				case "function_call":
					callID = it.CallID
				case "reasoning":
					sealed = strings.HasPrefix(it.EncryptedContent, "otk1.")
				}
			}
			if callID == "" || !sealed {
				t.Fatalf("the loop's call (sealed reasoning %v): %s", sealed, first.RawJSON())
			}
			items = append(items, map[string]any{"type": "function_call_output", "call_id": callID, "output": "31C"})
			second, err := client.Responses.New(ctx, loop, option.WithJSONSet("input", items))
			if err != nil || !strings.Contains(outputText(second), "31C") {
				t.Fatalf("the loop's answer: %v %+v", err, second)
			}
			conform(t, "Response", []byte(second.RawJSON()))

			n, err := client.Responses.InputTokens.Count(ctx, responses.InputTokenCountParams{Model: openai.String(model),
				Input: responses.InputTokenCountParamsInputUnion{OfString: openai.String("How many tokens is this?")}})
			if err != nil || n.InputTokens <= 0 {
				t.Fatalf("input_tokens: %v %+v", err, n)
			}
		})
	}
}
