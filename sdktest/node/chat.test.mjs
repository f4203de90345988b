// The official openai npm package against the OpenToken gateway. Started by
// sdktest's TestNodeSDK, which passes the gateway's address and a key.
import { test } from "node:test";
import assert from "node:assert/strict";
import OpenAI from "openai";

const baseURL = process.env.OPENTOKEN_BASE_URL;
const apiKey = process.env.OPENTOKEN_API_KEY;
if (!baseURL || !apiKey) throw new Error("set OPENTOKEN_BASE_URL and OPENTOKEN_API_KEY");

const client = new OpenAI({ baseURL, apiKey, maxRetries: 0 });

for (const model of ["anthropic/claude-haiku-4-5", "google/gemini-3.1-pro"]) {
  test(`chat completion on ${model}`, async () => {
    const resp = await client.chat.completions.create({
      model,
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "Name three primary colors." },
      ],
      temperature: 0.7,
      top_p: 0.9,
      // A cap with room for thinking: a smaller one drops it on Claude.
      max_tokens: 4096,
      seed: 42,
      presence_penalty: 0.2,
      // OpenRouter superset fields pass straight through the SDK.
      top_k: 40,
      min_p: 0.05,
      reasoning: { effort: "low" },
    });
    assert.equal(resp.object, "chat.completion");
    assert.equal(resp.model, model);
    assert.match(resp.id, /^chatcmpl-/);
    const choice = resp.choices[0];
    assert.equal(choice.message.role, "assistant");
    assert.ok(choice.message.content.length > 0, "content is empty");
    assert.equal(choice.finish_reason, "stop");
    assert.ok(resp.usage.prompt_tokens > 0);
    assert.equal(resp.usage.total_tokens, resp.usage.prompt_tokens + resp.usage.completion_tokens);
    assert.ok(resp.usage.completion_tokens_details.reasoning_tokens > 0);
  });
}

test("an unknown model is a typed 400", async () => {
  await assert.rejects(
    client.chat.completions.create({ model: "openai/gpt-4o", messages: [{ role: "user", content: "hi" }] }),
    (err) => {
      assert.ok(err instanceof OpenAI.BadRequestError, `got ${err?.constructor?.name}`);
      assert.equal(err.status, 400);
      assert.equal(err.code, "model_not_found");
      assert.equal(err.message, '400 model "openai/gpt-4o" not found');
      return true;
    },
  );
});

test("a bad key is a typed 401", async () => {
  const bad = new OpenAI({ baseURL, apiKey: "sk-optk-wrong", maxRetries: 0 });
  await assert.rejects(
    bad.chat.completions.create({ model: "google/gemini-3-flash", messages: [{ role: "user", content: "hi" }] }),
    (err) => {
      assert.ok(err instanceof OpenAI.AuthenticationError, `got ${err?.constructor?.name}`);
      assert.equal(err.status, 401);
      assert.equal(err.code, "invalid_key");
      return true;
    },
  );
});

test("models list", async () => {
  const ids = [];
  for await (const m of client.models.list()) ids.push(m.id);
  assert.equal(ids.length, 10); // 9 chat models and 1 embedding model (text-embedding-004 is retired)
  assert.ok(ids.includes("google/gemini-3-flash"));
  assert.ok(!ids.includes("google/text-embedding-004"));
});

test("models retrieve", async () => {
  const m = await client.models.retrieve("anthropic/claude-sonnet-4-6");
  assert.equal(m.id, "anthropic/claude-sonnet-4-6");
  assert.equal(m.owned_by, "anthropic");
});

// The stream() helper is strict: it throws on a missing role or
// finish_reason, so passing it is the check that the frames are complete.
for (const model of ["anthropic/claude-sonnet-4-5", "google/gemini-2.5-pro"]) {
  test(`streaming with the stream() helper on ${model}`, async () => {
    const body = {
      model,
      messages: [{ role: "user", content: "Name three primary colors." }],
      temperature: 0.5,
    };
    const whole = await client.chat.completions.create(body);
    const stream = client.chat.completions.stream({ ...body, stream: true });
    let streamed = "";
    for await (const chunk of stream) {
      streamed += chunk.choices[0]?.delta?.content ?? "";
    }
    const final = await stream.finalChatCompletion();
    assert.equal(final.choices[0].message.content, whole.choices[0].message.content);
    assert.equal(streamed, whole.choices[0].message.content);
    assert.equal(final.choices[0].finish_reason, "stop");
    assert.equal(final.choices[0].message.role, "assistant");
    assert.equal(final.usage.total_tokens, whole.usage.total_tokens);
  });
}
