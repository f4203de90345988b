// Tools and structured outputs through the gateway with the openai npm
// package's own helpers: runTools, parse with zodResponseFormat, and the
// stream helper. Started by sdktest's TestNodeSDK.
import { test } from "node:test";
import assert from "node:assert/strict";
import OpenAI from "openai";
import { zodResponseFormat, zodFunction } from "openai/helpers/zod";
import { z } from "zod";

const client = new OpenAI({ baseURL: process.env.OPENTOKEN_BASE_URL, apiKey: process.env.OPENTOKEN_API_KEY, maxRetries: 0 });

const Weather = z.object({ city: z.string(), unit: z.enum(["c", "f"]) });

for (const model of ["anthropic/claude-sonnet-4-6", "google/gemini-3-flash", "google/gemini-2.5-pro"]) {
  test(`runTools to completion on ${model}`, async () => {
    const calls = [];
    const runner = client.chat.completions.runTools({
      model,
      messages: [{ role: "user", content: "Use get_weather and get_time, please." }],
      tools: [
        {
          type: "function",
          function: {
            name: "get_weather",
            parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
            function: (args) => { calls.push(["get_weather", args]); return "18C"; },
            parse: JSON.parse,
          },
        },
        {
          type: "function",
          function: {
            name: "get_time",
            parameters: { type: "object", properties: {} },
            function: () => { calls.push(["get_time"]); return "14:05"; },
            parse: JSON.parse,
          },
        },
      ],
    });
    const content = await runner.finalContent();
    assert.deepEqual(calls.map((c) => c[0]), ["get_weather", "get_time"]);
    assert.equal(typeof calls[0][1].city, "string");
    assert.match(content, /18C/);
    assert.match(content, /14:05/);
  });

  test(`parse with zodResponseFormat on ${model}`, async () => {
    const completion = await client.chat.completions.parse({
      model,
      messages: [{ role: "user", content: "Report the weather in Paris." }],
      response_format: zodResponseFormat(Weather, "weather"),
    });
    const msg = completion.choices[0].message;
    assert.equal(msg.refusal, null);
    assert.equal(typeof msg.parsed.city, "string");
    assert.ok(["c", "f"].includes(msg.parsed.unit));
  });

  test(`stream helper with parallel tool calls on ${model}`, async () => {
    const stream = client.chat.completions.stream({
      model,
      messages: [{ role: "user", content: "Call get_weather and get_time." }],
      tools: [zodFunction({ name: "get_weather", parameters: Weather }), zodFunction({ name: "get_time", parameters: z.object({}) })],
    });
    const done = [];
    stream.on("tool_calls.function.arguments.done", (e) => done.push(e.name));
    const final = await stream.finalChatCompletion();
    const choice = final.choices[0];
    assert.equal(choice.finish_reason, "tool_calls");
    assert.deepEqual(choice.message.tool_calls.map((c) => c.function.name), ["get_weather", "get_time"]);
    assert.deepEqual(choice.message.tool_calls[0].function.parsed_arguments, { city: "emulated", unit: "c" });
    assert.deepEqual(done, ["get_weather", "get_time"]);
  });
}

test("a json_object answer parses on every provider", async () => {
  for (const model of ["anthropic/claude-haiku-4-5", "google/gemini-3.1-flash-lite"]) {
    const resp = await client.chat.completions.create({
      model,
      messages: [{ role: "user", content: "Answer in JSON." }],
      response_format: { type: "json_object" },
    });
    const v = JSON.parse(resp.choices[0].message.content);
    assert.equal(typeof v, "object");
  }
});

test("legacy functions are answered in the legacy shape", async () => {
  const resp = await client.chat.completions.create({
    model: "anthropic/claude-haiku-4-5",
    messages: [{ role: "user", content: "Call get_weather." }],
    functions: [{ name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } }],
  });
  const choice = resp.choices[0];
  assert.equal(choice.finish_reason, "function_call");
  assert.equal(choice.message.function_call.name, "get_weather");
  assert.equal(choice.message.tool_calls, undefined);
});
