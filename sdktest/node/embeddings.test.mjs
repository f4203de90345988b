// Embeddings through the gateway with the openai npm package, which asks
// for base64 unless told otherwise and decodes the answer itself.
import { test } from "node:test";
import assert from "node:assert/strict";
import OpenAI from "openai";

const client = new OpenAI({ baseURL: process.env.OPENTOKEN_BASE_URL, apiKey: process.env.OPENTOKEN_API_KEY, maxRetries: 0 });

for (const n of [1, 100, 101, 2048]) {
  test(`${n} inputs, the default (base64) encoding, match the float encoding`, async () => {
    const input = Array.from({ length: n }, (_, i) => `text ${i}`);
    const b64 = await client.embeddings.create({ model: "google/gemini-embedding-001", input, dimensions: 768 });
    const flt = await client.embeddings.create({ model: "google/gemini-embedding-001", input, dimensions: 768, encoding_format: "float" });
    assert.equal(b64.data.length, n);
    for (let i = 0; i < n; i++) {
      assert.equal(b64.data[i].index, i);
      assert.equal(b64.data[i].embedding.length, 768);
      for (let j = 0; j < 768; j += 97) {
        assert.ok(Math.abs(b64.data[i].embedding[j] - flt.data[i].embedding[j]) < 1e-6, `vector ${i}[${j}]`);
      }
    }
    assert.equal(b64.usage.total_tokens, b64.usage.prompt_tokens);
  });
}

test("a chat model is refused on /v1/embeddings", async () => {
  await assert.rejects(client.embeddings.create({ model: "google/gemini-3-flash", input: "x" }), (err) => {
    assert.equal(err.status, 400);
    assert.equal(err.code, "embeddings_unsupported");
    return true;
  });
});

test("a cached system prompt: written, then read, in the fields the SDK types name", async () => {
  for (const model of ["anthropic/claude-sonnet-4-5", "google/gemini-3-flash"]) {
    const messages = [
      { role: "system", content: [{ type: "text", text: "house rules ".repeat(3000) + model, cache_control: { type: "ephemeral" } }] },
      { role: "user", content: "hi" },
    ];
    const first = await client.chat.completions.create({ model, messages });
    const second = await client.chat.completions.create({ model, messages });
    assert.ok(first.usage.prompt_tokens_details.cache_write_tokens > 0, `${model}: ${JSON.stringify(first.usage)}`);
    assert.ok(second.usage.prompt_tokens_details.cached_tokens > 0, `${model}: ${JSON.stringify(second.usage)}`);
    assert.ok(second.usage.cost < first.usage.cost, `${model}: a read costs less than a write`);
  }
});
