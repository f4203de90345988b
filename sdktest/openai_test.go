package sdktest

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/opentoken/opentoken/emulator"
	"github.com/opentoken/opentoken/internal/gatewaytest"
)

func openaiClient(env *gatewaytest.Env, key string) openai.Client {
	return openai.NewClient(option.WithAPIKey(key), option.WithBaseURL(env.URL+"/v1/"), option.WithMaxRetries(0))
}

// TestOpenAIGoSDK points the official openai-go client at the gateway and
// creates completions on a Claude and a Gemini model, with the sampling
// superset and OpenRouter's reasoning object, then checks the typed errors.
func TestOpenAIGoSDK(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{})
	client := openaiClient(env, gatewaytest.ClientKey)
	ctx := context.Background()
	for _, model := range []string{"anthropic/claude-sonnet-4-6", "google/gemini-3-flash", "anthropic/claude-opus-4-7", "google/gemini-2.5-pro"} {
		completion, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
			Model: model,
			Messages: []openai.ChatCompletionMessageParamUnion{
				openai.SystemMessage("Be brief."),
				openai.UserMessage("Name three primary colors."),
			},
			Temperature:      openai.Float(0.7),
			TopP:             openai.Float(0.9),
			MaxTokens:        openai.Int(128),
			Seed:             openai.Int(42),
			FrequencyPenalty: openai.Float(0.1),
			Stop:             openai.ChatCompletionNewParamsStopUnion{OfStringArray: []string{"END"}},
			User:             openai.String("user-1"),
		}, option.WithJSONSet("top_k", 40), option.WithJSONSet("reasoning", map[string]any{"effort": "low"}))
		if err != nil {
			t.Errorf("%s: %v", model, err)
			continue
		}
		c := completion.Choices[0]
		if c.Message.Content == "" || c.FinishReason != "stop" || completion.Usage.TotalTokens == 0 ||
			completion.Usage.TotalTokens != completion.Usage.PromptTokens+completion.Usage.CompletionTokens || completion.Model != model {
			t.Errorf("%s: incomplete completion %s", model, completion.RawJSON())
		}
		if completion.Usage.CompletionTokensDetails.ReasoningTokens == 0 {
			t.Errorf("%s: no reasoning tokens with reasoning on: %s", model, completion.RawJSON())
		}
		if !strings.HasPrefix(completion.ID, "chatcmpl-") || completion.Object != "chat.completion" {
			t.Errorf("%s: id %q object %q", model, completion.ID, completion.Object)
		}
	}

	_, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
		Model: "openai/gpt-4o", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
	})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Code != "model_not_found" || apiErr.Type != "invalid_request_error" {
		t.Errorf("unknown model: got %v, want a typed 400 model_not_found", err)
	}

	bad := openaiClient(env, "sk-optk-wrong")
	_, err = bad.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
		Model: "google/gemini-3-flash", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
	})
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 || apiErr.Code != "invalid_key" || apiErr.Type != "authentication_error" {
		t.Errorf("bad key: got %v, want a typed 401 invalid_key", err)
	}

	page, err := client.Models.List(ctx)
	if err != nil || len(page.Data) != 10 || page.Data[0].ID != "anthropic/claude-haiku-4-5" || page.Data[0].Created != 1704067200 {
		t.Errorf("models: %v, %d models (want the 9 chat models and gemini-embedding-001; text-embedding-004 is retired), first %+v", err, len(page.Data), page.Data[0].ID)
	}
	m, err := client.Models.Get(ctx, "google/gemini-3-flash")
	if err != nil || m.ID != "google/gemini-3-flash" || m.OwnedBy != "google" {
		t.Errorf("models.Get: %v %+v", err, m)
	}
}

// TestOpenAIGoStreaming streams through the gateway with openai-go and
// assembles the chunks with its ChatCompletionAccumulator, on a Claude and
// a Gemini model, and sees an in-stream failure as the stream's error.
func TestOpenAIGoStreaming(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{})
	client := openaiClient(env, gatewaytest.ClientKey)
	ctx := context.Background()
	for _, model := range []string{"anthropic/claude-sonnet-4-6", "google/gemini-3-flash"} {
		params := openai.ChatCompletionNewParams{
			Model:       model,
			Messages:    []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Name three primary colors.")},
			Temperature: openai.Float(0.5),
		}
		whole, err := client.Chat.Completions.New(ctx, params)
		if err != nil {
			t.Fatalf("%s: %v", model, err)
		}
		stream := client.Chat.Completions.NewStreaming(ctx, params)
		acc := openai.ChatCompletionAccumulator{}
		chunks := 0
		for stream.Next() {
			if !acc.AddChunk(stream.Current()) {
				t.Fatalf("%s: the accumulator refused chunk %d: %s", model, chunks, stream.Current().RawJSON())
			}
			chunks++
		}
		if err := stream.Err(); err != nil {
			t.Fatalf("%s: %v", model, err)
		}
		if len(acc.Choices) != 1 || acc.Choices[0].Message.Content != whole.Choices[0].Message.Content ||
			acc.Choices[0].FinishReason != "stop" || acc.Usage.TotalTokens != whole.Usage.TotalTokens || chunks < 4 {
			t.Errorf("%s: accumulated %+v (usage %+v) from %d chunks, want %q", model, acc.Choices, acc.Usage, chunks, whole.Choices[0].Message.Content)
		}
	}

	env.Gemini.Faults.Push(emulator.Fault{Stream: &emulator.StreamFault{AfterEvents: 2, Error: true}})
	stream := client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
		Model: "google/gemini-2.5-pro", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
	})
	for stream.Next() {
	}
	if err := stream.Err(); err == nil || !strings.Contains(err.Error(), "overloaded") {
		t.Errorf("in-stream failure: got %v, want the upstream's overload error", err)
	}
}
