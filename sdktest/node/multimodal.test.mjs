// A PDF (a file part) and an image by URL, with the openai npm package, to
// every model /v1/models says reads them. Started by sdktest's TestNodeSDK,
// which serves the image (the gateway fetches it for Gemini).
import { test } from "node:test";
import assert from "node:assert/strict";
import OpenAI from "openai";

const client = new OpenAI({ baseURL: process.env.OPENTOKEN_BASE_URL, apiKey: process.env.OPENTOKEN_API_KEY, maxRetries: 0 });
const pdf = "data:application/pdf;base64," + Buffer.from("%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n").toString("base64");

test("a PDF and an image URL on every model that reads them", async () => {
  const models = [];
  for await (const m of client.models.list()) {
    const inputs = m.architecture?.input_modalities ?? [];
    if (inputs.includes("file") && inputs.includes("image")) models.push(m.id);
  }
  assert.ok(models.length >= 9, `models that read PDFs and images: ${models}`);
  for (const model of models) {
    const c = await client.chat.completions.create({
      model,
      messages: [{ role: "user", content: [
        { type: "text", text: "Describe the memo and the picture." },
        { type: "file", file: { filename: "memo.pdf", file_data: pdf } },
        { type: "image_url", image_url: { url: `${process.env.OPENTOKEN_MEDIA_URL}/cat.png` } },
      ] }],
    });
    assert.match(c.choices[0].message.content, /^Emulated/, model);
  }
});
