// The Responses door with the official openai npm package's responses
// client (create, stream, parse with a zod schema) and with the OpenAI
// Agents SDK's default model, on a Claude and a Gemini model. Started by
// sdktest's TestNodeSDK.
import { test } from "node:test";
import assert from "node:assert/strict";
import OpenAI from "openai";
import { zodTextFormat } from "openai/helpers/zod";
import { z } from "zod";
import { Agent, run, tool, setTracingDisabled } from "@openai/agents";

const client = new OpenAI({ baseURL: process.env.OPENTOKEN_BASE_URL, apiKey: process.env.OPENTOKEN_API_KEY, maxRetries: 0 });

// Traces go to OpenAI's servers by default: never from a test.
setTracingDisabled(true);

for (const model of ["anthropic/claude-sonnet-4-6", "google/gemini-3-flash"]) {
  test(`responses.create and responses.stream on ${model}`, async () => {
    const params = { model, instructions: "Be brief.", input: "Name three colours.", store: false };
    const whole = await client.responses.create(params);
    assert.equal(whole.status, "completed");
    assert.ok(whole.output_text.length > 0);
    assert.ok(whole.usage.output_tokens_details.reasoning_tokens >= 0);
    const stream = client.responses.stream(params);
    let deltas = "";
    stream.on("response.output_text.delta", (ev) => { deltas += ev.delta; });
    const final = await stream.finalResponse();
    // The stream's final response carries its output items; output_text
    // is a convenience of create's.
    const text = final.output.filter((it) => it.type === "message").flatMap((it) => it.content).map((c) => c.text).join("");
    assert.equal(text, whole.output_text);
    assert.equal(deltas, whole.output_text);
  });

  test(`responses.parse with a zod schema on ${model}`, async () => {
    const Colour = z.object({ name: z.string(), hex: z.string() });
    const parsed = await client.responses.parse({ model, input: "A colour, as JSON.", store: false, text: { format: zodTextFormat(Colour, "colour") } });
    assert.equal(typeof parsed.output_parsed, "object");
    assert.equal(typeof parsed.output_parsed.name, "string");
  });

  test(`an agent with two tools, run and streamed, on ${model}`, async () => {
    const calls = [];
    const agent = new Agent({
      name: "helper",
      instructions: "Answer with the tools' results.",
      model,
      tools: [
        tool({ name: "get_weather", description: "Weather of a city", parameters: z.object({ city: z.string() }), execute: async ({ city }) => { calls.push("get_weather"); return `22C in ${city}`; } }),
        tool({ name: "get_time", description: "Time of a city", parameters: z.object({ city: z.string() }), execute: async ({ city }) => { calls.push("get_time"); return `14:05 in ${city}`; } }),
      ],
    });
    const result = await run(agent, "Use get_weather and get_time for Oslo.");
    assert.deepEqual(calls.sort(), ["get_time", "get_weather"]);
    assert.match(result.finalOutput, /22C/);
    calls.length = 0;
    const streamed = await run(agent, "Use get_weather and get_time for Oslo.", { stream: true });
    for await (const _ of streamed) { /* drain the events */ }
    await streamed.completed;
    assert.deepEqual(calls.sort(), ["get_time", "get_weather"]);
    assert.match(streamed.finalOutput, /22C/);
  });
}

test("responses errors arrive as the SDK's classes", async () => {
  await assert.rejects(client.responses.create({ model: "google/gemini-9", input: "x" }), OpenAI.BadRequestError);
  const bad = new OpenAI({ baseURL: process.env.OPENTOKEN_BASE_URL, apiKey: "sk-not-a-key-at-all-0000", maxRetries: 0 });
  await assert.rejects(bad.responses.create({ model: "google/gemini-3-flash", input: "x" }), OpenAI.AuthenticationError);
});
