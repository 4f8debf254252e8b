#!/usr/bin/env python3
"""Runs a logic that asks questions, answering each one from a script (a headless driver).

    python3 examples/pause_resume_demo.py                      # approval_flow, auto answers
    python3 examples/pause_resume_demo.py survey_loop --input n=2 --answer 7 --answer 3
    python3 examples/pause_resume_demo.py pick_plan --answer '"enterprise"'

It starts a Play, then loops on play_wait. Whenever the Play is `awaiting_resume` it looks up
the waiting question in play_tree (the Play, anywhere in the tree, whose pending_resumes is not
empty), and answers it with play_resume: with the next --answer value (JSON when it parses,
else the text), or, once those run out, an automatic answer (confirm: true, choice: the first
option, multi_choice: the first option(s), number: the minimum or 1, text: "ok"). Each answer
makes the daemon replay the Play up to that question and go on. When the Play ends it prints
the output; the exit status is 0 on success, 1 otherwise.

Only the standard library and hero_tracing.client, taken from this checkout's sdk/python.
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sdk", "python"))

from hero_tracing.client import INVALID_STATE, Client, RpcError  # noqa: E402

TERMINAL = ("success", "failed", "cancelled", "timed_out")
WAIT_MS = 10_000


def parse_value(text):
    """JSON when it parses (`7`, `true`, `["a","b"]`, `"quoted"`), else the text itself."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_inputs(pairs):
    inputs = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"--input takes key=value, got {pair!r}")
        inputs[key] = parse_value(value)
    return inputs


def automatic_answer(request):
    """A sensible answer that fits the question's form and schema."""
    ui = request.get("ui") or {}
    schema = request.get("schema") or {}
    kind = ui.get("kind")
    options = ui.get("options") or schema.get("enum") or []
    if kind == "confirm" or schema.get("type") == "boolean":
        return True
    if kind == "choice":
        return options[0] if options else ""
    if kind == "multi_choice":
        least = ui.get("min", schema.get("minItems")) or 1
        return list(options[:max(least, 1)])
    if kind == "number" or schema.get("type") in ("number", "integer"):
        low = ui.get("min", schema.get("minimum"))
        high = ui.get("max", schema.get("maximum"))
        value = low if low is not None else 1
        return min(value, high) if high is not None else value
    return "ok"


def waiting_requests(tree):
    """(play_sid, request) for every unanswered question in the tree, root first."""
    plays = [tree.get("play") or {}] + list(tree.get("descendants") or [])
    found = []
    for play in plays:
        for request in play.get("pending_resumes") or []:
            if not request.get("resumed_at"):
                found.append((play.get("sid", ""), request))
    return found


def describe(request):
    ui = request.get("ui") or {}
    text = f"{ui.get('prompt') or request.get('name')} [{ui.get('kind', '?')}]"
    if ui.get("options"):
        text += f" options: {', '.join(ui['options'])}"
    return text


def drive(client, logic, inputs, answers, deadline):
    """Runs the Play to its end, answering questions; returns the final Play."""
    play = client.play_start(logic, inputs)
    sid = play["sid"]
    print(f"started {logic} as play {sid}")
    answered = set()
    while True:
        if time.monotonic() > deadline:
            print(f"gave up waiting; play {sid} is {play.get('status')}", file=sys.stderr)
            return play
        asked_at = time.monotonic()
        play = client.play_wait(sid, timeout_ms=WAIT_MS)
        status = play.get("status")
        if status in TERMINAL:
            return play
        # play_wait also returns when a descendant waits; the tree says where.
        fresh = [(owner, request) for owner, request in waiting_requests(client.play_tree(sid))
                 if (owner, request.get("id")) not in answered]
        if not fresh:
            if status == "awaiting_resume" or time.monotonic() - asked_at < 1:
                # Answered already, and the daemon has not started the Play again yet.
                time.sleep(0.1)
            continue
        for owner, request in fresh:
            payload = parse_value(answers.pop(0)) if answers else automatic_answer(request)
            print(f"play {owner} asks: {describe(request)}")
            print(f"  answer: {json.dumps(payload)}")
            try:
                client.play_resume(play_sid=owner, resume_id=request["id"], payload=payload)
            except RpcError as exc:
                if exc.code != INVALID_STATE:
                    raise
                print(f"  (not taken: {exc.message})")
            answered.add((owner, request.get("id")))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("logic", nargs="?", default="approval_flow",
                        help="the Logic to run (name or sid; default approval_flow)")
    parser.add_argument("--socket", help="the daemon's socket (default: $HERO_LOGIC_SOCKET, "
                                         "else the data dir's hero_logic.sock)")
    parser.add_argument("--input", action="append", default=[], metavar="KEY=VALUE",
                        help="an input of the Play (VALUE as JSON when it parses); repeatable")
    parser.add_argument("--answer", action="append", default=[], metavar="VALUE",
                        help="the answer to the next question, in order (JSON when it parses); "
                             "repeatable; automatic answers follow once these run out")
    parser.add_argument("--timeout", type=float, default=300.0,
                        help="seconds to wait for the Play to end (default 300)")
    args = parser.parse_args(argv)

    client = Client(args.socket)
    try:
        play = drive(client, args.logic, parse_inputs(args.input), list(args.answer),
                     time.monotonic() + args.timeout)
    except (ConnectionError, RpcError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    status = play.get("status")
    print(f"play {play.get('sid')}: {status}")
    if status == "success":
        print(json.dumps(play.get("output_data"), indent=2, sort_keys=True))
        return 0
    if play.get("error_message"):
        print(f"error: {play['error_message']}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
