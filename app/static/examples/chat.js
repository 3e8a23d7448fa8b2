// The example chat: a browser talking to Threadline directly with a client token.
// - /examples/chat/session stands in for the app's backend, which mints the token;
// - queries and mutations go to POST /graphql with `Authorization: Bearer <token>`;
// - a run's events stream over graphql-ws (`runEvents`), its text shown as it comes;
// - a function call (`get_time`) is answered here, in the browser, with submitToolOutputs.
"use strict";

const THREADS = `query { threads(first: 20, orderBy: LAST_ACTIVITY) {
  nodes { id lastActivityAt metadata } } }`;
const MESSAGES = `query($id: ID!) { thread(id: $id) {
  messages(first: 100, order: ASC) { nodes { id role text } } } }`;
const NEW_THREAD = `mutation($title: String!) {
  createThread(input: {metadata: {title: $title}}) { id } }`;
const SEND = `mutation($threadId: ID!, $text: String!) {
  createMessage(threadId: $threadId, input: {content: $text}) { id } }`;
const RUN = `mutation($threadId: ID!, $assistantId: ID!) {
  createRun(threadId: $threadId, input: {assistantId: $assistantId}) { id } }`;
const SUBMIT = `mutation($runId: ID!, $outputs: [ToolOutputInput!]!) {
  submitToolOutputs(runId: $runId, toolOutputs: $outputs) { id status } }`;
const EVENTS = `subscription($runId: ID!) { runEvents(runId: $runId) {
  event
  ... on RunStatusEvent { run { id status lastError { message }
    requiredAction { submitToolOutputs { toolCalls { id function { name arguments } } } } } }
  ... on MessageEvent { message { id role text } }
  ... on MessageDeltaEvent { messageId textDelta } } }`;

// The functions this page runs for the assistant.
const TOOLS = {
  get_time: () => new Date().toString(),
};

const state = { token: null, assistantId: null, ws: null, threadId: null };
const $ = (id) => document.getElementById(id);

function status(text) {
  $("status").textContent = text;
}

async function graphql(query, variables = {}, retries = 3) {
  const response = await fetch("/graphql", {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${state.token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  if (body.errors) {
    const [error] = body.errors;
    const wait = error.extensions?.retryAfterSeconds;
    if (error.extensions?.code === "RATE_LIMITED" && wait && retries > 0) {
      // Per-user rate limits: wait as the server says, then try again.
      await new Promise((resolve) => setTimeout(resolve, wait * 1000));
      return graphql(query, variables, retries - 1);
    }
    throw new Error(`${error.extensions?.code || "ERROR"}: ${error.message}`);
  }
  return body.data;
}

async function signIn() {
  const response = await fetch("/examples/chat/session", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ subject: $("subject").value }),
  });
  const session = await response.json();
  if (!response.ok) throw new Error(session.errors?.[0]?.message || response.statusText);
  state.token = session.token;
  state.assistantId = session.assistantId;
  if (state.ws) state.ws.dispose();
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  state.ws = graphqlWs.createClient({
    url: `${scheme}://${location.host}/graphql`,
    connectionParams: { authorization: `Bearer ${state.token}` },
  });
  state.threadId = null;
  $("messages").replaceChildren();
  $("new-chat").disabled = false;
  await listThreads();
  status(`Signed in as ${session.subject} (token until ${new Date(session.expiresAt).toLocaleTimeString()}).`);
}

async function listThreads() {
  const data = await graphql(THREADS);
  const nav = $("threads");
  nav.replaceChildren(
    ...data.threads.nodes.map((thread) => {
      const button = document.createElement("button");
      button.textContent = thread.metadata.title || thread.id;
      button.dataset.threadId = thread.id;
      button.className = thread.id === state.threadId ? "current" : "";
      button.onclick = () => openThread(thread.id);
      return button;
    }),
  );
}

async function openThread(threadId) {
  state.threadId = threadId;
  const data = await graphql(MESSAGES, { id: threadId });
  $("messages").replaceChildren();
  for (const message of data.thread.messages.nodes) bubble(message.role, message.text, message.id);
  $("text").disabled = $("send").disabled = false;
  await listThreads();
}

function bubble(role, text, id) {
  const div = document.createElement("div");
  div.className = `message ${role.toLowerCase()}`;
  if (id) div.dataset.messageId = id;
  div.textContent = text;
  $("messages").append(div);
  div.scrollIntoView();
  return div;
}

async function newChat(title) {
  const data = await graphql(NEW_THREAD, { title });
  await openThread(data.createThread.id);
}

async function send(text) {
  if (!state.threadId) await newChat(text.slice(0, 40));
  await graphql(SEND, { threadId: state.threadId, text });
  bubble("user", text);
  const run = (await graphql(RUN, { threadId: state.threadId, assistantId: state.assistantId }))
    .createRun;
  status("The assistant is answering…");
  await follow(run.id);
  await listThreads();
}

// The run's events until it ends: text as it streams, function calls answered here.
function follow(runId) {
  return new Promise((resolve, reject) => {
    const shown = new Map();
    state.ws.subscribe(
      { query: EVENTS, variables: { runId } },
      {
        next: ({ data, errors }) => {
          if (errors) return reject(new Error(errors[0].message));
          const event = data.runEvents;
          if (event.event === "thread.message.created" && event.message.role === "ASSISTANT") {
            shown.set(event.message.id, bubble("assistant", "", event.message.id));
          } else if (event.event === "thread.message.delta" && event.textDelta) {
            shown.get(event.messageId).textContent += event.textDelta;
          } else if (event.event === "thread.run.requires_action") {
            answer(event.run).catch(reject);
          } else if (event.event === "thread.run.failed") {
            status(`The run failed: ${event.run.lastError?.message}`);
          } else if (event.event === "thread.run.completed") {
            status("Done.");
          }
        },
        error: reject,
        complete: resolve,
      },
    );
  });
}

async function answer(run) {
  const outputs = run.requiredAction.submitToolOutputs.toolCalls.map((call) => {
    const tool = TOOLS[call.function.name];
    const output = tool ? tool(JSON.parse(call.function.arguments || "{}")) : "unknown tool";
    bubble("tool", `${call.function.name}() → ${output}`);
    return { toolCallId: call.id, output: String(output) };
  });
  await graphql(SUBMIT, { runId: run.id, outputs });
}

function guarded(work) {
  return (...args) => work(...args).catch((error) => status(error.message));
}

$("sign-in").onclick = guarded(signIn);
$("new-chat").onclick = guarded(() => newChat(`Chat ${new Date().toLocaleTimeString()}`));
$("composer").onsubmit = guarded(async (event) => {
  event.preventDefault();
  const text = $("text").value.trim();
  if (!text) return;
  $("text").value = "";
  $("send").disabled = true;
  try {
    await send(text);
  } finally {
    $("send").disabled = false;
  }
});
guarded(signIn)().then(() => {
  $("text").disabled = $("send").disabled = false;
});
