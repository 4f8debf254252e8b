"""Runs a generated script in a child process with a time and a memory limit.

The stubs are put before the script in one file under this Play's working directory; the
child is a fresh `python -I` with `RLIMIT_AS` set to `memory_mb`, an environment of PATH, LANG
and the daemon's socket only (never the model key), and no stdin. It stays in the runner's
process group, so cancelling the Play or its wall-clock budget kills it too, and whatever it
leaves running dies when the Play ends. Past `timeout_s` it is killed. Its stdout and stderr
come back (at most `MAX_OUTPUT` characters each); a failing script does not fail this Play:
`ok` says how it went.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time

import hero_tracing
from hero_tracing import logic

MAX_OUTPUT = 16_000
SDK_DIR = os.path.dirname(os.path.dirname(os.path.abspath(hero_tracing.__file__)))
# Runs in the child: limits first, then the file as __main__.
BOOTSTRAP = """\
import resource, runpy, sys
limit = {memory} * 1024 * 1024
hard = resource.getrlimit(resource.RLIMIT_AS)[1]
if hard != resource.RLIM_INFINITY:
    limit = min(limit, hard)
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
sys.path.insert(0, {sdk!r})
sys.argv = [{path!r}]
runpy.run_path({path!r}, run_name="__main__")
"""


@logic(
    name="script_execution",
    description="Runs a generated Python script (after its stubs) in a child process with a time "
                "and memory limit, capturing its output.",
    inputs={
        "code": {"type": "string", "description": "The script.", "required": True},
        "stubs": {"type": "string", "description": "Code put before it (compile_stubs).",
                  "default": ""},
        "timeout_s": {"type": "number", "description": "Wall-clock limit, 1 to 600 seconds.",
                      "default": 30},
        "memory_mb": {"type": "integer", "description": "Address-space limit, 64 to 4096 MiB.",
                      "default": 512},
    },
    outputs={
        "ok": {"type": "boolean", "description": "Exited with code 0 within the time limit."},
        "exit_code": {"type": "integer", "description": "Its exit code (negative: killed by "
                                                        "that signal)."},
        "timed_out": {"type": "boolean", "description": "Killed at the time limit."},
        "stdout": {"type": "string", "description": "What it printed."},
        "stderr": {"type": "string", "description": "Its errors (a traceback when it failed)."},
        "duration_ms": {"type": "integer", "description": "How long it ran."},
    },
)
def script_execution(code: str, stubs: str = "", timeout_s: float = 30, memory_mb: int = 512) -> dict:
    if not 1 <= timeout_s <= 600:
        raise logic.Failed(f"timeout_s is {timeout_s}: it must be between 1 and 600")
    if not 64 <= memory_mb <= 4096:
        raise logic.Failed(f"memory_mb is {memory_mb}: it must be between 64 and 4096")
    workdir = tempfile.mkdtemp(prefix="script-", dir=os.getcwd())
    try:
        path = os.path.join(workdir, "script.py")
        with open(path, "w", encoding="utf-8") as f:
            f.write(stubs + "\n# --- generated script ---\n" + code)
        result = run(path, workdir, timeout_s, memory_mb)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    how = "ran out of time" if result["timed_out"] else f"exited with code {result['exit_code']}"
    logic.log(f"the script {how} after {result['duration_ms']} ms")
    return result


def run(path: str, workdir: str, timeout_s: float, memory_mb: int) -> dict:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
    if os.environ.get("HERO_LOGIC_SOCKET"):
        env["HERO_LOGIC_SOCKET"] = os.environ["HERO_LOGIC_SOCKET"]
    bootstrap = BOOTSTRAP.format(memory=int(memory_mb), sdk=SDK_DIR, path=path)
    started = time.monotonic()
    child = subprocess.Popen(
        [sys.executable, "-I", "-c", bootstrap], cwd=workdir, env=env,
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    timed_out = False
    try:
        out, err = child.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        timed_out = True
        child.kill()
        out, err = collect(child)
    return {
        "ok": child.returncode == 0 and not timed_out,
        "exit_code": child.returncode,
        "timed_out": timed_out,
        "stdout": clip(out),
        "stderr": clip(err),
        "duration_ms": int((time.monotonic() - started) * 1000),
    }


def collect(child) -> tuple:
    """What a killed script had written. Processes it started may hold its pipes open, so
    the wait is bounded."""
    try:
        return child.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        return b"", b"(the script's output was lost: processes it started kept it open)"


def clip(data: bytes) -> str:
    text = data.decode("utf-8", "replace")
    if len(text) <= MAX_OUTPUT:
        return text
    half = MAX_OUTPUT // 2
    return f"{text[:half]}\n... ({len(text) - MAX_OUTPUT} characters left out) ...\n{text[-half:]}"
