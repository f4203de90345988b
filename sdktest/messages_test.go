package sdktest

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	anthropicopt "github.com/anthropics/anthropic-sdk-go/option"

	"github.com/opentoken/opentoken/internal/gatewaytest"
)

// gatewayAnthropic is the official Anthropic Go SDK pointed at the
// gateway's Messages door, as Claude Code is with ANTHROPIC_BASE_URL.
func gatewayAnthropic(env *gatewaytest.Env, key string) anthropic.Client {
	return anthropic.NewClient(anthropicopt.WithAPIKey(key), anthropicopt.WithBaseURL(env.URL), anthropicopt.WithMaxRetries(0))
}

// TestAnthropicSDKThroughGateway: anthropic-sdk-go against the Messages
// door, on a Claude and a Gemini model: a message buffered and streamed
// (the SDK's accumulator gives the same message), a two-turn tool loop
// with thinking on whose signed blocks go back as the SDK echoes them,
// count_tokens, the model list, and every error parsed into the SDK's
// error type with Anthropic's error type.
func TestAnthropicSDKThroughGateway(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{})
	client := gatewayAnthropic(env, gatewaytest.ClientKey)
	ctx := context.Background()
	weather := anthropic.ToolParam{Name: "get_weather", Description: anthropic.String("Weather of a city"),
		InputSchema: anthropic.ToolInputSchemaParam{Properties: map[string]any{"city": map[string]any{"type": "string"}}, Required: []string{"city"}}}

	for _, model := range []string{"claude-sonnet-4-5", "google/gemini-3-flash"} {
		t.Run(strings.ReplaceAll(model, "/", "_"), func(t *testing.T) {
			params := anthropic.MessageNewParams{Model: anthropic.Model(model), MaxTokens: 200,
				System:   []anthropic.TextBlockParam{{Text: "Be brief.", CacheControl: anthropic.NewCacheControlEphemeralParam()}},
				Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Name three colours."))}}
			whole, err := client.Messages.New(ctx, params)
			if err != nil || whole.StopReason != anthropic.StopReasonEndTurn || len(whole.Content) == 0 || whole.Content[len(whole.Content)-1].Text == "" || whole.Usage.OutputTokens == 0 {
				t.Fatalf("a message: %v %+v", err, whole)
			}
			stream := client.Messages.NewStreaming(ctx, params)
			var acc anthropic.Message
			for stream.Next() {
				if err := acc.Accumulate(stream.Current()); err != nil {
					t.Fatal(err)
				}
			}
			if err := stream.Err(); err != nil || acc.StopReason != anthropic.StopReasonEndTurn ||
				acc.Content[len(acc.Content)-1].Text != whole.Content[len(whole.Content)-1].Text || acc.Usage.OutputTokens == 0 {
				t.Fatalf("a streamed message: %v %+v", err, acc)
			}

			// A tool loop with thinking on, its turns echoed as the SDK
			// makes them (ToParam keeps thinking blocks and signatures).
			loop := anthropic.MessageNewParams{Model: anthropic.Model(model), MaxTokens: 8000,
				Thinking: anthropic.ThinkingConfigParamOfEnabled(2048),
				Tools:    []anthropic.ToolUnionParam{{OfTool: &weather}},
				Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("get_weather for Lima?"))}}
			first := client.Messages.NewStreaming(ctx, loop)
			var turn anthropic.Message
			for first.Next() {
				if err := turn.Accumulate(first.Current()); err != nil {
					t.Fatal(err)
				}
			}
			if err := first.Err(); err != nil || turn.StopReason != anthropic.StopReasonToolUse {
				t.Fatalf("the loop's call: %v %+v", err, turn)
			}
			var results []anthropic.ContentBlockParamUnion
			thinking := 0
			for _, b := range turn.Content {
				switch b.Type {
				case "tool_use":
					results = append(results, anthropic.NewToolResultBlock(b.ID, "21C and clear", false))
				case "thinking":
					thinking++
					if b.Signature == "" && strings.HasPrefix(model, "claude") {
						t.Errorf("an unsigned Claude thinking block: %+v", b)
					}
				}
			}
			if len(results) == 0 || thinking == 0 {
				t.Fatalf("the loop's call has no tool_use or no thinking: %+v", turn.Content)
			}
			loop.Messages = append(loop.Messages, turn.ToParam(), anthropic.NewUserMessage(results...))
			second, err := client.Messages.New(ctx, loop)
			if err != nil || second.StopReason != anthropic.StopReasonEndTurn || !strings.Contains(second.Content[len(second.Content)-1].Text, "21C") {
				t.Fatalf("the loop's answer: %v %+v", err, second)
			}

			count, err := client.Messages.CountTokens(ctx, anthropic.MessageCountTokensParams{Model: anthropic.Model(model),
				Messages: params.Messages, System: anthropic.MessageCountTokensParamsSystemUnion{OfTextBlockArray: params.System}})
			if err != nil || count.InputTokens <= 0 {
				t.Fatalf("count_tokens: %v %+v", err, count)
			}
		})
	}

	page, err := client.Models.List(ctx, anthropic.ModelListParams{})
	if err != nil || len(page.Data) == 0 || page.Data[0].DisplayName == "" || page.Data[0].Type != "model" {
		t.Fatalf("the model list: %v %+v", err, page)
	}
	m, err := client.Models.Get(ctx, "anthropic/claude-sonnet-4-6", anthropic.ModelGetParams{})
	if err != nil || m.DisplayName != "Claude Sonnet 4.6" {
		t.Fatalf("a model: %v %+v", err, m)
	}

	// Each failure reaches the SDK as its *anthropic.Error, with the
	// status and the type of Anthropic's envelope.
	bad := gatewayAnthropic(env, "sk-not-a-key-at-all-0000")
	for _, c := range []struct {
		name   string
		call   func() error
		status int
		typ    string
	}{
		{"a wrong key", func() error {
			_, err := bad.Messages.New(ctx, anthropic.MessageNewParams{Model: "claude-sonnet-4-6", MaxTokens: 10,
				Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))}})
			return err
		}, http.StatusUnauthorized, "authentication_error"},
		{"an unknown model", func() error {
			_, err := client.Messages.New(ctx, anthropic.MessageNewParams{Model: "claude-nonesuch-1", MaxTokens: 10,
				Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))}})
			return err
		}, http.StatusNotFound, "not_found_error"},
		{"a bad request", func() error {
			_, err := client.Messages.New(ctx, anthropic.MessageNewParams{Model: "claude-sonnet-4-6", MaxTokens: 10, Temperature: anthropic.Float(9),
				Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))}})
			return err
		}, http.StatusBadRequest, "invalid_request_error"},
		{"a streamed bad request", func() error {
			s := client.Messages.NewStreaming(ctx, anthropic.MessageNewParams{Model: "claude-sonnet-4-6", MaxTokens: 10, Temperature: anthropic.Float(9),
				Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))}})
			for s.Next() {
			}
			return s.Err()
		}, http.StatusBadRequest, "invalid_request_error"},
	} {
		err := c.call()
		var apiErr *anthropic.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != c.status || !strings.Contains(apiErr.RawJSON(), `"type":"`+c.typ+`"`) {
			t.Errorf("%s: %v, want %d %s", c.name, err, c.status, c.typ)
		}
	}
}
