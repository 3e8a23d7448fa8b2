// A streamed run through the official openai Node SDK, as a JavaScript frontend or server
// would make it: node stream_run.mjs BASE_URL API_KEY
// Prints one JSON line for tests/test_rest_node_sdk.py to check; anything thrown exits non-zero
// with the SDK's error on stderr.
import OpenAI, { NotFoundError } from "openai";

const [baseURL, apiKey] = process.argv.slice(2);
if (!baseURL || !apiKey) {
  console.error("usage: node stream_run.mjs BASE_URL API_KEY");
  process.exit(2);
}
// No retries: the test sees every answer as it was.
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0 });

// The SDK's typed error for an unknown id, with the status it read.
async function unknownAssistant() {
  try {
    await client.beta.assistants.retrieve("asst_unknown");
  } catch (error) {
    if (error instanceof NotFoundError) {
      return { status: error.status, type: error.type, message: error.message };
    }
    throw error;
  }
  throw new Error("retrieving an unknown assistant did not fail");
}

const notFound = await unknownAssistant();
const assistant = await client.beta.assistants.create({
  model: "threadline/scripted",
  name: "Node SDK",
});
// The scripted model answers "You said: Hello from the Node SDK" a word at a time, each word
// 200 ms after the last: more than the server's 50 ms batching, so the text comes in several
// deltas and the SDK has to accumulate them.
const thread = await client.beta.threads.create({
  messages: [{ role: "user", content: "/slow 200\nHello from the Node SDK" }],
});

const stream = client.beta.threads.runs.stream(thread.id, { assistant_id: assistant.id });
const events = [];
let text = "";
stream.on("event", (event) => events.push(event.event));
stream.on("textDelta", (delta) => {
  text += delta.value ?? "";
});
const run = await stream.finalRun();
const messages = await stream.finalMessages();

console.log(
  JSON.stringify({
    assistant_id: assistant.id,
    thread_id: thread.id,
    run_id: run.id,
    text,
    final_run_status: run.status,
    final_messages: messages.map((message) => ({
      id: message.id,
      role: message.role,
      text: message.content.map((part) => (part.type === "text" ? part.text.value : "")).join(""),
    })),
    events,
    not_found: notFound,
  }),
);
