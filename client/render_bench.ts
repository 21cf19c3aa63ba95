/**
 * The interactive client's burst path: 1000 incoming messages rendered (sanitised, coloured,
 * mentions checked) and composed into the one string written to the terminal. The target
 * (issue 5) is under 200 ms for the burst; run with `deno bench --allow-all client/`.
 */

import type { ServerEvent } from "../protocol/events.ts";
import { decodeServerEvent } from "./server_event.ts";
import { makeColors, Renderer } from "./render.ts";
import { Screen } from "./screen.ts";
import { graphemes } from "./width.ts";

const encoder = new TextEncoder();
const bodies = Array.from({ length: 1000 }, (_, i) =>
  encoder.encode(JSON.stringify({
    type: "message",
    id: i + 1,
    ts: new Date(Date.UTC(2024, 4, 1, 9, 5, i % 60)).toISOString(),
    from: ["bob", "carol", "dave", "erin"][i % 4],
    text: `message number ${i} with some words in it, mentioning alice now and then ${
      i % 10 === 0 ? "alice" : ""
    }`,
    kind: i % 7 === 0 ? "me" : "say",
  })));
const draft = graphemes("half a line being typed");

Deno.bench("burst of 1000 messages: decode, render and compose one write", () => {
  const renderer = new Renderer({ colors: makeColors(true), style: "terminal" });
  const screen = new Screen(100);
  screen.setPrompt(renderer.name("alice") + "> ");
  const lines: string[] = [];
  let bell = false;
  for (const body of bodies) {
    const event = decodeServerEvent(body) as ServerEvent;
    const rendered = renderer.render(event, "alice");
    lines.push(...rendered.lines);
    bell ||= rendered.bell;
  }
  const out = screen.print(lines, bell, draft, draft.length);
  if (out.length < 1000) throw new Error("Nothing rendered");
});
