package sdktest

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	anthropicopt "github.com/anthropics/anthropic-sdk-go/option"
	"google.golang.org/genai"

	"github.com/opentoken/opentoken/internal/gatewaytest"
)

func anthropicClient(env *gatewaytest.Env, key string) anthropic.Client {
	return anthropic.NewClient(anthropicopt.WithAPIKey(key), anthropicopt.WithBaseURL(env.AnthropicURL), anthropicopt.WithMaxRetries(0))
}

// TestAnthropicSDKAgainstEmulator sends what the official Go SDK sends, in
// every thinking style, and reads the answers back with it.
func TestAnthropicSDKAgainstEmulator(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{})
	client := anthropicClient(env, gatewaytest.UpstreamKey)
	ctx := context.Background()
	cases := []struct {
		name   string
		params anthropic.MessageNewParams
	}{
		{"sampling", anthropic.MessageNewParams{
			Model: "claude-sonnet-4-5", MaxTokens: 256,
			System:        []anthropic.TextBlockParam{{Text: "Be brief.", CacheControl: anthropic.NewCacheControlEphemeralParam()}},
			Messages:      []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Name three primary colors."))},
			Temperature:   anthropic.Float(0.5),
			TopK:          anthropic.Int(40),
			StopSequences: []string{"END"},
			Metadata:      anthropic.MetadataParam{UserID: anthropic.String("u-1")},
		}},
		{"budget thinking", anthropic.MessageNewParams{
			Model: "claude-haiku-4-5", MaxTokens: 4096,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Why is the sky blue?"))},
			Thinking: anthropic.ThinkingConfigParamOfEnabled(2048),
		}},
		{"adaptive thinking", anthropic.MessageNewParams{
			Model: "claude-opus-4-7", MaxTokens: 4096,
			Messages:     []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Why is the sky blue?"))},
			Thinking:     anthropic.ThinkingConfigParamUnion{OfAdaptive: &anthropic.ThinkingConfigAdaptiveParam{}},
			OutputConfig: anthropic.OutputConfigParam{Effort: anthropic.OutputConfigEffortXhigh},
		}},
		{"image", anthropic.MessageNewParams{
			Model: "claude-opus-4-6", MaxTokens: 128,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(
				anthropic.NewImageBlockBase64("image/png", "iVBORw0KGgo="),
				anthropic.NewTextBlock("What is this?"))},
		}},
	}
	for _, c := range cases {
		msg, err := client.Messages.New(ctx, c.params)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		var text string
		for _, b := range msg.Content {
			if b.Type == "text" {
				text += b.Text
			}
		}
		if text == "" || msg.StopReason == "" || msg.Usage.InputTokens == 0 || msg.Usage.OutputTokens == 0 {
			t.Errorf("%s: incomplete message %+v", c.name, msg)
		}
		if c.name != "sampling" && c.name != "image" && msg.Content[0].Type != "thinking" {
			t.Errorf("%s: no thinking block first: %+v", c.name, msg.Content)
		}
	}

	// What the real API rejects, the emulator rejects, as the SDK's typed error.
	rejects := []struct {
		name   string
		params anthropic.MessageNewParams
		want   string
	}{
		{"temperature and top_p", anthropic.MessageNewParams{Model: "claude-sonnet-4-6", MaxTokens: 10,
			Messages:    []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
			Temperature: anthropic.Float(0.5), TopP: anthropic.Float(0.9)}, "cannot both be specified"},
		{"sampling on Opus 4.7", anthropic.MessageNewParams{Model: "claude-opus-4-7", MaxTokens: 10,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
			TopK:     anthropic.Int(5)}, "`top_k` is deprecated for this model."},
		{"budget on Opus 4.7", anthropic.MessageNewParams{Model: "claude-opus-4-7", MaxTokens: 4096,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
			Thinking: anthropic.ThinkingConfigParamOfEnabled(2048)}, "thinking.type.enabled is not supported"},
		{"small budget", anthropic.MessageNewParams{Model: "claude-sonnet-4-5", MaxTokens: 4096,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
			Thinking: anthropic.ThinkingConfigParamOfEnabled(512)}, "greater than or equal to 1024"},
		{"budget above max_tokens", anthropic.MessageNewParams{Model: "claude-sonnet-4-5", MaxTokens: 2000,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
			Thinking: anthropic.ThinkingConfigParamOfEnabled(2048)}, "`max_tokens` must be greater than `thinking.budget_tokens`"},
		{"temperature with thinking", anthropic.MessageNewParams{Model: "claude-haiku-4-5", MaxTokens: 4096,
			Messages:    []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
			Temperature: anthropic.Float(0.3), Thinking: anthropic.ThinkingConfigParamOfEnabled(2048)}, "may only be set to 1 when thinking is enabled"},
		{"unknown model", anthropic.MessageNewParams{Model: "claude-2", MaxTokens: 10,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))}}, "model: claude-2"},
	}
	for _, c := range rejects {
		_, err := client.Messages.New(ctx, c.params)
		var apiErr *anthropic.Error
		if !errors.As(err, &apiErr) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an API error containing %q", c.name, err, c.want)
		}
	}
	bad := anthropicClient(env, "wrong-key")
	_, err := bad.Messages.New(ctx, anthropic.MessageNewParams{Model: "claude-haiku-4-5", MaxTokens: 10,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))}})
	var apiErr *anthropic.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 {
		t.Errorf("bad key: got %v, want a 401", err)
	}
}

func geminiClient(t *testing.T, env *gatewaytest.Env, key string) *genai.Client {
	t.Helper()
	c, err := genai.NewClient(context.Background(), &genai.ClientConfig{
		APIKey: key, Backend: genai.BackendGeminiAPI,
		HTTPOptions: genai.HTTPOptions{BaseURL: env.GeminiURL + "/"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestGenAISDKAgainstEmulator does the same with Google's Go SDK.
func TestGenAISDKAgainstEmulator(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{})
	client := geminiClient(t, env, gatewaytest.UpstreamKey)
	ctx := context.Background()
	temp, topP, topK := float32(0.7), float32(0.9), float32(40)
	penalty, seed := float32(0.5), int32(42)
	budget := int32(1024)
	cases := []struct {
		model string
		cfg   *genai.GenerateContentConfig
	}{
		{"gemini-2.5-pro", &genai.GenerateContentConfig{
			SystemInstruction: genai.NewContentFromText("Be brief.", genai.RoleUser),
			Temperature:       &temp, TopP: &topP, TopK: &topK, MaxOutputTokens: 256,
			StopSequences: []string{"END"}, PresencePenalty: &penalty, FrequencyPenalty: &penalty, Seed: &seed,
			ThinkingConfig: &genai.ThinkingConfig{ThinkingBudget: &budget, IncludeThoughts: true},
		}},
		{"gemini-3-flash-preview", &genai.GenerateContentConfig{
			Temperature:    &temp,
			ThinkingConfig: &genai.ThinkingConfig{ThinkingLevel: genai.ThinkingLevelMinimal, IncludeThoughts: true},
		}},
		{"gemini-3.1-pro-preview", &genai.GenerateContentConfig{
			ThinkingConfig: &genai.ThinkingConfig{ThinkingLevel: genai.ThinkingLevelLow},
		}},
		{"gemini-3.1-flash-lite", nil},
	}
	for _, c := range cases {
		resp, err := client.Models.GenerateContent(ctx, c.model, genai.Text("Name three primary colors."), c.cfg)
		if err != nil {
			t.Errorf("%s: %v", c.model, err)
			continue
		}
		if resp.Text() == "" || resp.UsageMetadata == nil || resp.UsageMetadata.PromptTokenCount == 0 || resp.Candidates[0].FinishReason != genai.FinishReasonStop {
			t.Errorf("%s: incomplete response %+v", c.model, resp)
		}
	}
	rejects := []struct {
		name, model string
		cfg         *genai.GenerateContentConfig
		want        string
	}{
		{"penalty on Gemini 3", "gemini-3-flash-preview", &genai.GenerateContentConfig{PresencePenalty: &penalty}, "Penalty is not enabled"},
		{"seed on Gemini 3", "gemini-3.1-pro-preview", &genai.GenerateContentConfig{Seed: &seed}, "Seed is not enabled"},
		{"six stop sequences", "gemini-2.5-pro", &genai.GenerateContentConfig{StopSequences: []string{"a", "b", "c", "d", "e", "f"}}, "at most 5"},
		{"level and budget", "gemini-3-flash-preview", &genai.GenerateContentConfig{ThinkingConfig: &genai.ThinkingConfig{ThinkingLevel: genai.ThinkingLevelLow, ThinkingBudget: &budget}}, "only one of thinking budget and thinking level"},
		{"level the model lacks", "gemini-3.1-pro-preview", &genai.GenerateContentConfig{ThinkingConfig: &genai.ThinkingConfig{ThinkingLevel: genai.ThinkingLevelMinimal}}, "Thinking level MINIMAL is not supported"},
		{"level on Gemini 2.5", "gemini-2.5-pro", &genai.GenerateContentConfig{ThinkingConfig: &genai.ThinkingConfig{ThinkingLevel: genai.ThinkingLevelLow}}, "Thinking level is not supported"},
		{"unknown model", "gemini-1.0-pro", nil, "is not found"},
	}
	for _, c := range rejects {
		_, err := client.Models.GenerateContent(ctx, c.model, genai.Text("hi"), c.cfg)
		var apiErr genai.APIError
		if !errors.As(err, &apiErr) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an API error containing %q", c.name, err, c.want)
		}
	}
	_, err := geminiClient(t, env, "wrong-key").Models.GenerateContent(ctx, "gemini-2.5-pro", genai.Text("hi"), nil)
	var apiErr genai.APIError
	if !errors.As(err, &apiErr) || apiErr.Code != 400 || apiErr.Status != "INVALID_ARGUMENT" {
		t.Errorf("bad key: got %v, want 400 INVALID_ARGUMENT", err)
	}
}
