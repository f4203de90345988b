package sdktest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	"google.golang.org/genai"

	"github.com/opentoken/opentoken/internal/gatewaytest"
)

// TestAnthropicSDKToolLoopAgainstEmulator runs a tool loop with thinking
// the way Anthropic's own SDK builds it (the thinking block returned
// whole), so the emulator's tool rules are checked against the real wire
// shapes; and sees the emulator refuse what the real API refuses.
func TestAnthropicSDKToolLoopAgainstEmulator(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{})
	client := anthropicClient(env, gatewaytest.UpstreamKey)
	ctx := context.Background()
	tool := anthropic.ToolUnionParam{OfTool: &anthropic.ToolParam{
		Name: "get_weather", Description: anthropic.String("Current weather"),
		InputSchema: anthropic.ToolInputSchemaParam{Properties: map[string]any{"city": map[string]any{"type": "string"}}, Required: []string{"city"}},
	}}
	params := anthropic.MessageNewParams{
		Model: "claude-haiku-4-5", MaxTokens: 4096,
		Thinking: anthropic.ThinkingConfigParamOfEnabled(2048),
		Tools:    []anthropic.ToolUnionParam{tool},
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("What does get_weather say for Oslo?"))},
	}
	first, err := client.Messages.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	if first.StopReason != "tool_use" || len(first.Content) != 2 || first.Content[0].Type != "thinking" || first.Content[1].Type != "tool_use" {
		t.Fatalf("first turn: %s", first.RawJSON())
	}
	use := first.Content[1].AsToolUse()
	params.Messages = append(params.Messages, first.ToParam(),
		anthropic.NewUserMessage(anthropic.NewToolResultBlock(use.ID, "-3C", false)))
	second, err := client.Messages.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	if second.StopReason != "end_turn" || !strings.Contains(second.Content[len(second.Content)-1].Text, "-3C") {
		t.Errorf("second turn: %s", second.RawJSON())
	}

	// Without the thinking block, as an OpenAI-shaped history would be.
	bare := params
	bare.Messages = []anthropic.MessageParam{params.Messages[0],
		anthropic.NewAssistantMessage(anthropic.NewToolUseBlock(use.ID, map[string]any{"city": "Oslo"}, "get_weather")),
		params.Messages[2]}
	if _, err := client.Messages.New(ctx, bare); err == nil || !strings.Contains(err.Error(), "must start with a thinking block") {
		t.Errorf("a loop without its thinking block: %v", err)
	}
	// A result that answers no call.
	stray := params
	stray.Messages = []anthropic.MessageParam{params.Messages[0], params.Messages[1],
		anthropic.NewUserMessage(anthropic.NewToolResultBlock("toolu_other", "x", false))}
	if _, err := client.Messages.New(ctx, stray); err == nil || !strings.Contains(err.Error(), "tool_use` ids were found without `tool_result` blocks") {
		t.Errorf("a stray result: %v", err)
	}
	// A forced choice with manual thinking.
	forced := params
	forced.Messages = params.Messages[:1]
	forced.ToolChoice = anthropic.ToolChoiceUnionParam{OfAny: &anthropic.ToolChoiceAnyParam{}}
	if _, err := client.Messages.New(ctx, forced); err == nil || !strings.Contains(err.Error(), "Thinking may not be enabled when tool_choice forces tool use") {
		t.Errorf("forced choice with thinking: %v", err)
	}
}

// TestGenAIToolLoopAgainstEmulator does the same with Google's SDK on
// Gemini 3: the call's thought signature goes back as the SDK keeps it.
func TestGenAIToolLoopAgainstEmulator(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{})
	client := geminiClient(t, env, gatewaytest.UpstreamKey)
	ctx := context.Background()
	cfg := &genai.GenerateContentConfig{Tools: []*genai.Tool{{FunctionDeclarations: []*genai.FunctionDeclaration{{
		Name: "get_weather", Description: "Current weather",
		ParametersJsonSchema: map[string]any{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}},
	}}}}}
	history := []*genai.Content{genai.NewContentFromText("What does get_weather say for Oslo?", genai.RoleUser)}
	first, err := client.Models.GenerateContent(ctx, "gemini-3-flash-preview", history, cfg)
	if err != nil {
		t.Fatal(err)
	}
	calls := first.FunctionCalls()
	if len(calls) != 1 || calls[0].ID == "" || len(first.Candidates[0].Content.Parts[0].ThoughtSignature) == 0 {
		t.Fatalf("first turn: %+v", first.Candidates[0].Content)
	}
	history = append(history, first.Candidates[0].Content,
		genai.NewContentFromFunctionResponse("get_weather", map[string]any{"output": "-3C"}, genai.RoleUser))
	history[2].Parts[0].FunctionResponse.ID = calls[0].ID
	second, err := client.Models.GenerateContent(ctx, "gemini-3-flash-preview", history, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(second.Text(), "-3C") {
		t.Errorf("second turn: %q", second.Text())
	}
	// Without the signature, Gemini 3 refuses the turn.
	history[1].Parts[0].ThoughtSignature = nil
	if _, err := client.Models.GenerateContent(ctx, "gemini-3-flash-preview", history, cfg); err == nil || !strings.Contains(err.Error(), "missing a thought_signature") {
		t.Errorf("a loop without its signature: %v", err)
	}
	// Fewer responses than calls.
	two := &genai.Content{Role: genai.RoleModel, Parts: []*genai.Part{
		{FunctionCall: &genai.FunctionCall{Name: "get_weather", Args: map[string]any{"city": "Oslo"}}},
		{FunctionCall: &genai.FunctionCall{Name: "get_weather", Args: map[string]any{"city": "Rome"}}}}}
	one := genai.NewContentFromFunctionResponse("get_weather", map[string]any{"output": "-3C"}, genai.RoleUser)
	if _, err := client.Models.GenerateContent(ctx, "gemini-2.5-pro", []*genai.Content{history[0], two, one}, cfg); err == nil ||
		!strings.Contains(err.Error(), "number of function response parts is equal to the number of function call parts") {
		t.Errorf("fewer responses than calls: %v", err)
	}
	// Gemini 2.5 refuses tools with JSON output.
	history = []*genai.Content{history[0]}
	if _, err := client.Models.GenerateContent(ctx, "gemini-2.5-pro", history, &genai.GenerateContentConfig{Tools: cfg.Tools, ResponseMIMEType: "application/json"}); err == nil ||
		!strings.Contains(err.Error(), "Function calling with a response mime type") {
		t.Errorf("tools with JSON on 2.5: %v", err)
	}
}

// TestGenAICachesAgainstEmulator creates, reads, updates, uses and deletes
// a cache entry with Google's own SDK, so that the emulator's
// cachedContents service is checked against the real wire shapes.
func TestGenAICachesAgainstEmulator(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{})
	client := geminiClient(t, env, gatewaytest.UpstreamKey)
	ctx := context.Background()
	big := strings.Repeat("house rules ", 2000)
	cache, err := client.Caches.Create(ctx, "gemini-3-flash-preview", &genai.CreateCachedContentConfig{
		TTL:               300 * time.Second,
		SystemInstruction: genai.NewContentFromText(big, genai.RoleUser),
		Contents:          []*genai.Content{genai.NewContentFromText("a long document "+big, genai.RoleUser)},
	})
	if err != nil || !strings.HasPrefix(cache.Name, "cachedContents/") || cache.UsageMetadata == nil || cache.UsageMetadata.TotalTokenCount == 0 {
		t.Fatalf("create: %v %+v", err, cache)
	}
	if got, err := client.Caches.Get(ctx, cache.Name, nil); err != nil || got.Name != cache.Name {
		t.Errorf("get: %v", err)
	}
	if _, err := client.Caches.Update(ctx, cache.Name, &genai.UpdateCachedContentConfig{TTL: time.Hour}); err != nil {
		t.Errorf("update: %v", err)
	}
	resp, err := client.Models.GenerateContent(ctx, "gemini-3-flash-preview", genai.Text("summarise"), &genai.GenerateContentConfig{CachedContent: cache.Name})
	if err != nil || resp.UsageMetadata.CachedContentTokenCount == 0 || resp.UsageMetadata.PromptTokenCount <= resp.UsageMetadata.CachedContentTokenCount {
		t.Errorf("use: %v %+v", err, resp)
	}
	// A request on a cache may not set its own system instruction.
	if _, err := client.Models.GenerateContent(ctx, "gemini-3-flash-preview", genai.Text("x"), &genai.GenerateContentConfig{
		CachedContent: cache.Name, SystemInstruction: genai.NewContentFromText("be brief", genai.RoleUser)}); err == nil ||
		!strings.Contains(err.Error(), "should not be set in the request when using cached content") {
		t.Errorf("system instruction with a cache: %v", err)
	}
	// Too small.
	if _, err := client.Caches.Create(ctx, "gemini-3-flash-preview", &genai.CreateCachedContentConfig{
		Contents: []*genai.Content{genai.NewContentFromText("short", genai.RoleUser)}}); err == nil || !strings.Contains(err.Error(), "Cached content is too small") {
		t.Errorf("a small cache: %v", err)
	}
	if _, err := client.Caches.Delete(ctx, cache.Name, nil); err != nil {
		t.Errorf("delete: %v", err)
	}
	if _, err := client.Models.GenerateContent(ctx, "gemini-3-flash-preview", genai.Text("x"), &genai.GenerateContentConfig{CachedContent: cache.Name}); err == nil {
		t.Error("a deleted cache was used")
	}
}
