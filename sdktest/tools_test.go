package sdktest

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/packages/param"
	"github.com/openai/openai-go/v3/shared"

	"github.com/opentoken/opentoken/generated"
	"github.com/opentoken/opentoken/internal/gatewaytest"
	"github.com/opentoken/opentoken/matrix"
)

var weatherTool = openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
	Name:        "get_weather",
	Description: openai.String("Current weather for a city"),
	Parameters: shared.FunctionParameters{
		"type":                 "object",
		"properties":           map[string]any{"city": map[string]any{"type": "string"}, "unit": map[string]any{"type": "string", "enum": []string{"c", "f"}}},
		"required":             []string{"city", "unit"},
		"additionalProperties": false,
	},
})

var timeTool = openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
	Name:       "get_time",
	Parameters: shared.FunctionParameters{"type": "object", "properties": map[string]any{"zone": map[string]any{"type": "string"}}},
})

// chatModels lists every registered chat model.
func chatModels() []string {
	var ids []string
	for _, m := range generated.Models {
		if m.Kind == matrix.KindChat {
			ids = append(ids, m.ID)
		}
	}
	return ids
}

// TestOpenAIGoToolLoop runs a two-turn tool loop with openai-go on every
// chat model, buffered and streamed (through the SDK's accumulator): the
// model calls both tools in parallel, the client answers both, the model
// answers in text. The strict emulators check every upstream rule on the
// way (ids, result placement, counts, signatures).
func TestOpenAIGoToolLoop(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{})
	client := openaiClient(env, gatewaytest.ClientKey)
	for _, model := range chatModels() {
		for _, streamed := range []bool{false, true} {
			name := model
			if streamed {
				name += "/stream"
			}
			t.Run(name, func(t *testing.T) {
				params := openai.ChatCompletionNewParams{
					Model:    model,
					Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Call get_weather and get_time for Paris.")},
					Tools:    []openai.ChatCompletionToolUnionParam{weatherTool, timeTool},
				}
				msg, finish := complete(t, client, params, streamed)
				if finish != "tool_calls" || len(msg.ToolCalls) != 2 {
					t.Fatalf("turn 1: finish %q, %d calls: %s", finish, len(msg.ToolCalls), msg.RawJSON())
				}
				for i, want := range []string{"get_weather", "get_time"} {
					tc := msg.ToolCalls[i]
					var args map[string]any
					if tc.Function.Name != want || tc.ID == "" || json.Unmarshal([]byte(tc.Function.Arguments), &args) != nil {
						t.Fatalf("call %d: %+v", i, tc)
					}
				}
				if args := msg.ToolCalls[0].Function.Arguments; !strings.Contains(args, `"city"`) || !strings.Contains(args, `"unit":"c"`) {
					t.Errorf("get_weather arguments do not follow its schema: %s", args)
				}
				params.Messages = append(params.Messages, msg.ToParam(),
					openai.ToolMessage("18C, cloudy", msg.ToolCalls[0].ID),
					openai.ToolMessage("14:05", msg.ToolCalls[1].ID))
				msg, finish = complete(t, client, params, streamed)
				if finish != "stop" || len(msg.ToolCalls) != 0 || !strings.Contains(msg.Content, "18C, cloudy") {
					t.Fatalf("turn 2: finish %q: %s", finish, msg.RawJSON())
				}
			})
		}
	}
}

// complete makes one request, buffered or streamed, and returns the
// assistant message and the finish reason.
func complete(t *testing.T, client openai.Client, params openai.ChatCompletionNewParams, streamed bool, opts ...option.RequestOption) (openai.ChatCompletionMessage, string) {
	t.Helper()
	ctx := context.Background()
	if !streamed {
		c, err := client.Chat.Completions.New(ctx, params, opts...)
		if err != nil {
			t.Fatal(err)
		}
		return c.Choices[0].Message, string(c.Choices[0].FinishReason)
	}
	stream := client.Chat.Completions.NewStreaming(ctx, params, opts...)
	acc := openai.ChatCompletionAccumulator{}
	for stream.Next() {
		if !acc.AddChunk(stream.Current()) {
			t.Fatalf("the accumulator refused %s", stream.Current().RawJSON())
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if len(acc.Choices) != 1 {
		t.Fatalf("%d choices", len(acc.Choices))
	}
	// The accumulated message has no raw JSON of its own: rebuild it from
	// its fields so that ToParam carries the calls.
	msg := acc.Choices[0].Message
	raw, _ := json.Marshal(msg)
	var out openai.ChatCompletionMessage
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out, string(acc.Choices[0].FinishReason)
}

// TestToolLoopWithThinking: a loop with reasoning on, on Claude (signed
// thinking blocks) and Gemini 3 (thought signatures), both when the client
// echoes the reasoning_details / extra_content the gateway returned and
// when it drops them, as OpenAI clients do.
func TestToolLoopWithThinking(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{})
	client := openaiClient(env, gatewaytest.ClientKey)
	for _, model := range []string{"anthropic/claude-sonnet-4-5", "anthropic/claude-opus-4-6", "google/gemini-3-flash", "google/gemini-3.1-pro"} {
		for _, echo := range []bool{true, false} {
			params := openai.ChatCompletionNewParams{
				Model:     model,
				Messages:  []openai.ChatCompletionMessageParamUnion{openai.UserMessage("What is get_weather in Rome?")},
				Tools:     []openai.ChatCompletionToolUnionParam{weatherTool},
				MaxTokens: openai.Int(8000),
			}
			high := option.WithJSONSet("reasoning", map[string]any{"effort": "high"})
			first, err := client.Chat.Completions.New(context.Background(), params, high)
			if err != nil {
				t.Fatalf("%s: %v", model, err)
			}
			msg := first.Choices[0].Message
			var raw struct {
				ReasoningDetails []map[string]any `json:"reasoning_details"`
			}
			_ = json.Unmarshal([]byte(msg.RawJSON()), &raw)
			if len(msg.ToolCalls) != 1 || len(raw.ReasoningDetails) == 0 {
				t.Fatalf("%s: want a call and its signed reasoning: %s", model, msg.RawJSON())
			}
			assistant := msg.ToParam()
			if echo {
				assistant.OfAssistant.SetExtraFields(map[string]any{"reasoning_details": raw.ReasoningDetails})
			} else {
				// What an OpenAI client sends back: the call without anything else.
				assistant = openai.ChatCompletionMessageParamUnion{OfAssistant: &openai.ChatCompletionAssistantMessageParam{
					ToolCalls: []openai.ChatCompletionMessageToolCallUnionParam{{OfFunction: &openai.ChatCompletionMessageFunctionToolCallParam{
						ID: msg.ToolCalls[0].ID, Function: openai.ChatCompletionMessageFunctionToolCallFunctionParam{
							Name: msg.ToolCalls[0].Function.Name, Arguments: msg.ToolCalls[0].Function.Arguments}}}},
					Content: openai.ChatCompletionAssistantMessageParamContentUnion{OfString: param.Opt[string]{}},
				}}
			}
			params.Messages = append(params.Messages, assistant, openai.ToolMessage("22C", msg.ToolCalls[0].ID))
			var resp *http.Response
			second, err := client.Chat.Completions.New(context.Background(), params, high, option.WithResponseInto(&resp))
			if err != nil {
				t.Fatalf("%s echo=%v: %v", model, echo, err)
			}
			// Without its signed thinking, Claude's loop goes on with thinking
			// off, and says so; Gemini's gets the placeholder signature.
			dropped := resp.Header.Get("X-OpenToken-Dropped-Params")
			if wantDrop := !echo && strings.HasPrefix(model, "anthropic/"); strings.Contains(dropped, "reasoning") != wantDrop {
				t.Errorf("%s echo=%v: X-OpenToken-Dropped-Params = %q", model, echo, dropped)
			}
			if second.Choices[0].FinishReason != "stop" || !strings.Contains(second.Choices[0].Message.Content, "22C") {
				t.Errorf("%s echo=%v: %s", model, echo, second.RawJSON())
			}
		}
	}
}

// TestOpenAIGoStructuredOutputs asks every chat model for a json_schema
// answer, buffered and streamed, and decodes it into a struct.
func TestOpenAIGoStructuredOutputs(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{})
	client := openaiClient(env, gatewaytest.ClientKey)
	type report struct {
		City  string   `json:"city"`
		TempC float64  `json:"temp_c"`
		Tags  []string `json:"tags"`
		Kind  string   `json:"kind"`
	}
	format := openai.ChatCompletionNewParamsResponseFormatUnion{OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{
		JSONSchema: shared.ResponseFormatJSONSchemaJSONSchemaParam{
			Name:   "report",
			Strict: openai.Bool(true),
			Schema: map[string]any{
				"type": "object",
				"properties": map[string]any{
					"city": map[string]any{"type": "string"}, "temp_c": map[string]any{"type": "number"},
					"tags": map[string]any{"type": "array", "items": map[string]any{"type": "string"}},
					"kind": map[string]any{"type": "string", "enum": []string{"weather", "forecast"}},
				},
				"required":             []string{"city", "temp_c", "tags", "kind"},
				"additionalProperties": false,
			},
		},
	}}
	for _, model := range chatModels() {
		for _, streamed := range []bool{false, true} {
			msg, finish := complete(t, client, openai.ChatCompletionNewParams{
				Model:          model,
				Messages:       []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Report the weather in Paris.")},
				ResponseFormat: format,
			}, streamed)
			var r report
			if err := json.Unmarshal([]byte(msg.Content), &r); err != nil || finish != "stop" || r.City == "" || r.Kind != "weather" {
				t.Errorf("%s stream=%v: %q (finish %s): %v", model, streamed, msg.Content, finish, err)
			}
		}
	}
}
