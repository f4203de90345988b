// The Messages door with the official @anthropic-ai/sdk npm package, as
// Claude Code's own client speaks it: messages buffered and streamed, a
// tool loop with thinking on (the SDK echoes the signed blocks), token
// counting, the model list, and the SDK's error classes. Started by
// sdktest's TestNodeSDK.
import { test } from "node:test";
import assert from "node:assert/strict";
import Anthropic from "@anthropic-ai/sdk";

const client = new Anthropic({ baseURL: process.env.OPENTOKEN_ORIGIN, apiKey: process.env.OPENTOKEN_API_KEY, maxRetries: 0 });

const tools = [{ name: "get_weather", description: "Weather of a city", input_schema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } }];

for (const model of ["claude-sonnet-4-6", "google/gemini-3-flash"]) {
  test(`messages, buffered and streamed, on ${model}`, async () => {
    const params = { model, max_tokens: 200, system: [{ type: "text", text: "Be brief.", cache_control: { type: "ephemeral" } }], messages: [{ role: "user", content: "Name three colours." }] };
    const whole = await client.messages.create(params);
    assert.equal(whole.stop_reason, "end_turn");
    assert.ok(whole.content.at(-1).text.length > 0);
    const streamed = await client.messages.stream(params).finalMessage();
    assert.equal(streamed.content.at(-1).text, whole.content.at(-1).text);
    assert.ok(streamed.usage.output_tokens > 0);
  });

  test(`a tool loop with thinking on ${model}`, async () => {
    const messages = [{ role: "user", content: "get_weather for Quito?" }];
    const first = await client.messages.stream({ model, max_tokens: 8000, thinking: { type: "enabled", budget_tokens: 2048 }, tools, messages }).finalMessage();
    assert.equal(first.stop_reason, "tool_use");
    assert.ok(first.content.some((b) => b.type === "thinking"), "a thinking block");
    const calls = first.content.filter((b) => b.type === "tool_use");
    assert.ok(calls.length > 0 && typeof calls[0].input === "object");
    messages.push({ role: "assistant", content: first.content });
    messages.push({ role: "user", content: calls.map((c) => ({ type: "tool_result", tool_use_id: c.id, content: "14C, light rain" })) });
    const second = await client.messages.create({ model, max_tokens: 8000, thinking: { type: "enabled", budget_tokens: 2048 }, tools, messages });
    assert.equal(second.stop_reason, "end_turn");
    assert.match(second.content.at(-1).text, /14C/);
  });

  test(`count_tokens on ${model}`, async () => {
    const n = await client.messages.countTokens({ model, messages: [{ role: "user", content: "How many tokens?" }], tools });
    assert.ok(n.input_tokens > 0);
  });
}

test("the model list", async () => {
  const ids = [];
  for await (const m of client.models.list()) ids.push(m.id);
  assert.ok(ids.includes("anthropic/claude-sonnet-4-6") && ids.includes("google/gemini-3-flash"));
});

test("errors arrive as the SDK's classes", async () => {
  const bad = new Anthropic({ baseURL: process.env.OPENTOKEN_ORIGIN, apiKey: "sk-not-a-key-at-all-0000", maxRetries: 0 });
  const hi = { max_tokens: 10, messages: [{ role: "user", content: "hi" }] };
  await assert.rejects(bad.messages.create({ model: "claude-sonnet-4-6", ...hi }), Anthropic.AuthenticationError);
  await assert.rejects(client.messages.create({ model: "claude-nonesuch-1", ...hi }), Anthropic.NotFoundError);
  await assert.rejects(client.messages.create({ model: "claude-sonnet-4-6", temperature: 9, ...hi }), (err) => {
    assert.ok(err instanceof Anthropic.BadRequestError);
    assert.equal(err.error.error.type, "invalid_request_error");
    return true;
  });
});
