// A data-channel client no one on this project wrote (npm ssm-session), driven against the
// simulator's agent: open the channel, type a command, wait for its output.
// STREAM_URL and TOKEN come from the environment so that they never show in a process list.
"use strict";

const WebSocket = require("ws");
const { ssm } = require("ssm-session");

const url = process.env.STREAM_URL;
const token = process.env.TOKEN;
const command = process.env.COMMAND || "echo peer-$((6*7))";
const expect = process.env.EXPECT || "peer-42";
const termOptions = { rows: 24, cols: 80 };

let output = "";
let typed = false;
const socket = new WebSocket(url);
socket.binaryType = "arraybuffer";

const deadline = setTimeout(() => {
  process.stderr.write("timed out; output so far:\n" + output + "\n");
  process.exit(1);
}, 20000);

socket.on("open", () => ssm.init(socket, { token, termOptions }));
socket.on("message", (data, isBinary) => {
  if (!isBinary) return;
  const message = ssm.decode(data);
  ssm.sendACK(socket, message);
  if (message.payloadType !== 1) return;
  output += Buffer.from(message.payload).toString("utf8");
  if (!typed && output.includes("$ ")) {
    typed = true;
    ssm.sendText(socket, new TextEncoder().encode(command + "\r"));
  }
  // The echoed command line holds "$((6*7))", not the answer: only the shell's output matches.
  if (typed && output.includes(expect)) {
    clearTimeout(deadline);
    process.stdout.write(output);
    socket.close();
    process.exit(0);
  }
});
socket.on("error", (e) => {
  process.stderr.write("websocket error: " + e.message + "\n");
  process.exit(1);
});
