"""A LocalStack Lambda runtime executor that runs ``provided.*`` functions as child processes.

Why: stock LocalStack runs each function in a Docker container from a public Lambda
base image, with a runtime-init binary it downloads from GitHub. Offline (and inside
a container without a Docker socket) neither exists. A ``provided.al2023`` function
is just an executable called ``bootstrap`` that speaks the Lambda Runtime API over
HTTP, so we run it directly and serve that API ourselves.

One ``ProcessRuntimeExecutor`` is one execution environment: one ``bootstrap``
process and one Runtime API server on 127.0.0.1 (an ephemeral port). LocalStack's
assignment service creates as many environments as there are concurrent invocations,
so concurrency comes for free: each environment handles one invocation at a time.

Selected with ``LAMBDA_RUNTIME_EXECUTOR=photopipe-process``.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import queue
import signal
import subprocess
import tempfile
import threading
import time
import weakref
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from localstack import config
from localstack.services.lambda_.invocation.executor_endpoint import StatusErrorException
from localstack.services.lambda_.invocation.lambda_models import FunctionVersion, InvocationResult
from localstack.services.lambda_.invocation.plugins import RuntimeExecutorPlugin
from localstack.services.lambda_.invocation.runtime_executor import (
    LambdaRuntimeException,
    RuntimeExecutor,
)

LOG = logging.getLogger(__name__)
# Function output goes to its own logger so it can be filtered or silenced apart
# from the executor's own messages.
FUNCTION_LOG = logging.getLogger("photopipe.lambda")

SUPPORTED_RUNTIMES = ("provided.al2023", "provided.al2", "provided")
RUNTIME_API_PREFIX = "/2018-06-01/runtime"
# How long a killed runtime gets between SIGTERM and SIGKILL on stop.
STOP_GRACE_SECONDS = 2.0
# Set PHOTOPIPE_LAMBDA_ECHO_LOGS=0 to keep function output out of LocalStack's log
# (it still goes to CloudWatch Logs and to the per-environment log file).
ECHO_LOGS = os.environ.get("PHOTOPIPE_LAMBDA_ECHO_LOGS", "1") not in ("0", "false", "")

# Every live executor, so that an interpreter exit never leaves a bootstrap behind.
_LIVE: weakref.WeakSet[ProcessRuntimeExecutor] = weakref.WeakSet()


def _stop_all_at_exit() -> None:
    for executor in list(_LIVE):
        try:
            executor.stop()
        except Exception:  # noqa: BLE001 - best effort at interpreter exit
            pass


atexit.register(_stop_all_at_exit)


def _error_payload(error_type: str, message: str) -> bytes:
    return json.dumps({"errorType": error_type, "errorMessage": message}).encode()


class _Invocation:
    """One invocation handed from ``invoke`` to the runtime's ``/next`` request."""

    def __init__(self, request_id: str, payload: bytes, headers: dict[str, str]) -> None:
        self.request_id = request_id
        self.payload = payload
        self.headers = headers
        self.result: Future[InvocationResult] = Future()


class _RuntimeApiServer(ThreadingHTTPServer):
    daemon_threads = True  # a runtime blocked in /next must never keep LocalStack alive
    executor: ProcessRuntimeExecutor


class _RuntimeApiHandler(BaseHTTPRequestHandler):
    """The subset of the Lambda Runtime API a custom runtime uses."""

    server: _RuntimeApiServer
    protocol_version = "HTTP/1.1"  # keep-alive: the runtime reuses one connection

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        LOG.debug("runtime api %s: " + format, self.server.executor.id, *args)

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _reply(self, status: HTTPStatus, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        if self.path != f"{RUNTIME_API_PREFIX}/invocation/next":
            self._reply(HTTPStatus.NOT_FOUND, b'{"errorType":"NotFound"}')
            return
        invocation = self.server.executor._next_invocation()
        if invocation is None:  # executor stopping: let the runtime's request fail
            self.close_connection = True
            return
        self._reply(HTTPStatus.OK, invocation.payload, invocation.headers)

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        body = self._body()
        executor = self.server.executor
        parts = self.path.removeprefix(RUNTIME_API_PREFIX).strip("/").split("/")
        if parts == ["init", "error"]:
            executor._init_failed(self._error_body(body))
        elif len(parts) == 3 and parts[0] == "invocation" and parts[2] == "response":
            executor._complete(parts[1], body, is_error=False)
        elif len(parts) == 3 and parts[0] == "invocation" and parts[2] == "error":
            executor._complete(parts[1], self._error_body(body), is_error=True)
        else:
            self._reply(HTTPStatus.NOT_FOUND, b'{"errorType":"NotFound"}')
            return
        self._reply(HTTPStatus.ACCEPTED, b'{"status":"OK"}')

    def _error_body(self, body: bytes) -> bytes:
        """Keep the function's errorType and errorMessage: Step Functions reads
        ``errorType`` as the task's error name (what Retry and Catch match)."""
        header_type = self.headers.get("Lambda-Runtime-Function-Error-Type")
        try:
            error = json.loads(body) if body else {}
        except ValueError:
            error = {"errorMessage": body.decode(errors="replace")}
        if not isinstance(error, dict):
            error = {"errorMessage": str(error)}
        error.setdefault("errorType", header_type or "Runtime.Unknown")
        error.setdefault("errorMessage", "")
        return json.dumps(error).encode()


class ProcessRuntimeExecutor(RuntimeExecutor):
    """One execution environment: a ``bootstrap`` child process and its Runtime API."""

    def __init__(self, id: str, function_version: FunctionVersion) -> None:  # noqa: A002
        super().__init__(id=id, function_version=function_version)
        self._lock = threading.RLock()
        self._process: subprocess.Popen[bytes] | None = None
        self._env: dict[str, str] = {}
        self._pending: queue.Queue[_Invocation | None] = queue.Queue()
        self._current: _Invocation | None = None
        self._ready = threading.Event()
        self._init_error: bytes | None = None
        self._stopped = threading.Event()
        self._server = _RuntimeApiServer(("127.0.0.1", 0), _RuntimeApiHandler)
        self._server.executor = self
        self._server_thread = threading.Thread(
            target=self._server.serve_forever,
            name=f"lambda-runtime-api-{id}",
            daemon=True,
        )
        name = function_version.id.function_name
        self._log_path = _log_dir() / f"{name}-{id}.log"
        self._tmp_dir = Path(tempfile.mkdtemp(prefix=f"lambda-{name}-"))

    # RuntimeExecutor interface -----------------------------------------------------

    def start(self, env_vars: dict[str, str]) -> None:
        self._server_thread.start()
        _LIVE.add(self)
        self._env = self._child_env(env_vars)
        self._spawn()

    def stop(self) -> None:
        self._stopped.set()
        _LIVE.discard(self)
        self._kill("stop")
        self._pending.put(None)  # unblock a /next that waits for work
        with self._lock:
            current, self._current = self._current, None
        if current is not None and not current.result.done():
            current.result.set_result(
                self._result(current, _error_payload("Runtime.Stopped", "execution environment stopped"))
            )
        if self._server_thread.is_alive():
            # shutdown() waits for serve_forever() to return: only call it when running.
            self._server.shutdown()
        self._server.server_close()
        _remove_tree(self._tmp_dir)

    def get_address(self) -> str:
        return "127.0.0.1"

    def get_endpoint_from_executor(self) -> str:
        # The function runs on the same host (or in the same container) as LocalStack,
        # so LocalStack is on loopback. LocalStack builds AWS_ENDPOINT_URL from this
        # and the gateway port.
        host = config.GATEWAY_LISTEN[0].host
        return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host

    def get_runtime_endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def invoke(self, payload: dict[str, str]) -> InvocationResult:
        request_id = payload["invoke-id"]
        timeout = float(self.function_version.config.timeout)
        if self._process is None or self._process.poll() is not None:
            # The previous runtime timed out or crashed: Lambda re-initialises the
            # sandbox on the next invocation, and so do we.
            try:
                self._spawn()
            except StatusErrorException as e:
                return InvocationResult(request_id, e.payload, is_error=True, logs=self._read_log(0))
        deadline = time.time() + timeout
        invocation = _Invocation(
            request_id,
            (payload.get("payload") or "").encode(),
            {
                "Lambda-Runtime-Aws-Request-Id": request_id,
                "Lambda-Runtime-Deadline-Ms": str(int(deadline * 1000)),
                "Lambda-Runtime-Invoked-Function-Arn": payload.get("invoked-function-arn", ""),
                "Lambda-Runtime-Trace-Id": payload.get("trace-id", ""),
            },
        )
        log_start = self._log_size()
        started = time.perf_counter()
        with self._lock:
            self._current = invocation
        self._append_log(f"START RequestId: {request_id} Version: {self.function_version.id.qualifier}\n")
        self._pending.put(invocation)
        try:
            result = self._await_result(invocation, timeout)
        finally:
            with self._lock:
                if self._current is invocation:
                    self._current = None
        duration_ms = (time.perf_counter() - started) * 1000
        self._append_log(
            f"END RequestId: {request_id}\n"
            f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
            f"Memory Size: {self.function_version.config.memory_size} MB\n"
        )
        result.logs = self._read_log(log_start)
        self._echo(request_id, result)
        return result

    def _await_result(self, invocation: _Invocation, timeout: float) -> InvocationResult:
        """Wait for the runtime's answer, the function timeout, or the runtime's death."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                # Lambda's behaviour: the runtime is killed mid-flight, the caller gets a
                # Sandbox.Timedout error and the next invocation starts a fresh runtime.
                self._kill("timeout")
                message = (
                    f"RequestId: {invocation.request_id} Error: Task timed out after {timeout:.2f} seconds"
                )
                return self._settle(invocation, "Sandbox.Timedout", message)
            try:
                return invocation.result.result(timeout=min(0.1, remaining))
            except FutureTimeout:
                pass
            process = self._process
            code = process.poll() if process is not None else -1
            if code is not None and not invocation.result.done():
                # The runtime died without answering (panic, exit, OOM kill).
                message = (
                    f"RequestId: {invocation.request_id} Error: Runtime exited with error: exit status {code}"
                )
                return self._settle(invocation, "Runtime.ExitError", message)

    def _settle(self, invocation: _Invocation, error_type: str, message: str) -> InvocationResult:
        """Complete an invocation with our own error unless the runtime just answered."""
        self._append_log(f"{message}\n")
        with self._lock:
            if not invocation.result.done():
                invocation.result.set_result(self._result(invocation, _error_payload(error_type, message)))
        return invocation.result.result()

    def get_logs(self) -> str:
        return self._read_log(0)

    @classmethod
    def prepare_version(cls, function_version: FunctionVersion) -> None:
        runtime = function_version.config.runtime
        if runtime not in SUPPORTED_RUNTIMES:
            # Raising here puts the function in state Failed with this reason, so a
            # CloudFormation deploy stops with it instead of hanging on an invoke.
            message = (
                f"the photopipe process executor runs only {', '.join(SUPPORTED_RUNTIMES)} functions "
                f"(a `bootstrap` executable); {function_version.id.function_name} has runtime "
                f"{runtime or 'none (container image)'}: build it for provided.al2023 or use "
                "LocalStack's docker executor"
            )
            LOG.error(message)
            raise LambdaRuntimeException(message)
        # Unzips the code (from the S3 object LocalStack stored) and chmods it 0755.
        function_version.config.code.prepare_for_execution()

    @classmethod
    def cleanup_version(cls, function_version: FunctionVersion) -> None:
        # The unzipped code belongs to LocalStack's code object, which removes it.
        pass

    # Process management -------------------------------------------------------------

    def _child_env(self, env_vars: dict[str, str]) -> dict[str, str]:
        code_dir = str(self.function_version.config.code.get_unzipped_code_location())
        # Start from a Lambda-like base, never from LocalStack's own environment: the
        # function must not see LocalStack's settings or the host's credentials.
        env = {
            "PATH": f"{code_dir}:/usr/local/bin:/usr/bin:/bin",
            "LD_LIBRARY_PATH": f"{code_dir}/lib:{code_dir}",
            "LANG": "C.UTF-8",
            "TMPDIR": str(self._tmp_dir),
        }
        # LocalStack passes some values as integers (memory size, timeout).
        env.update({k: str(v) for k, v in env_vars.items() if v is not None})
        env["LAMBDA_TASK_ROOT"] = code_dir  # LocalStack says /var/task: the container path
        env["AWS_LAMBDA_RUNTIME_API"] = "{}:{}".format(*self._server.server_address[:2])
        return env

    def _spawn(self) -> None:
        code_dir = self._env["LAMBDA_TASK_ROOT"]
        bootstrap = Path(code_dir) / "bootstrap"
        if not os.access(bootstrap, os.X_OK):
            raise StatusErrorException(
                "missing bootstrap",
                _error_payload(
                    "Runtime.InvalidEntrypoint",
                    f"no executable `bootstrap` at the root of the function's zip ({bootstrap})",
                ),
            )
        self._ready.clear()
        self._init_error = None
        self._drain_pending()
        log = open(self._log_path, "ab")  # noqa: SIM115 - the child owns it after Popen
        try:
            # stdout and stderr go to a file, not a pipe: the function's writes are
            # complete before it posts its response, so reading the file right after
            # the response sees every line of that invocation, with no reader thread.
            self._process = subprocess.Popen(
                [str(bootstrap)],
                cwd=code_dir,
                env=self._env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: kill takes its children too
            )
        finally:
            log.close()
        LOG.debug("started %s (pid %s) for %s", bootstrap, self._process.pid, self._function_label())
        self._wait_ready()

    def _wait_ready(self) -> None:
        """Block until the runtime asks for its first invocation, like Lambda's init phase.

        LocalStack's own start-up timer (LAMBDA_RUNTIME_ENVIRONMENT_TIMEOUT) calls
        ``stop`` if this takes too long, which ends the wait below."""
        process = self._process
        assert process is not None
        while not self._ready.wait(0.05):
            if self._init_error is not None:
                self._kill("init error")
                raise StatusErrorException("init error", self._init_error)
            code = process.poll()
            if code is not None or self._stopped.is_set():
                message = f"Runtime exited with error: exit status {code}" if code is not None else "stopped"
                LOG.warning(
                    "%s: bootstrap failed during init (%s); its output:\n%s",
                    self._function_label(), message, self._read_log(0)[-4000:],
                )
                raise StatusErrorException(message, _error_payload("Runtime.ExitError", message))

    def _kill(self, why: str) -> None:
        with self._lock:
            process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        LOG.debug("stopping bootstrap pid %s of %s (%s)", process.pid, self._function_label(), why)
        try:
            if why == "timeout":
                os.killpg(process.pid, signal.SIGKILL)  # Lambda freezes and discards it
            else:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(STOP_GRACE_SECONDS)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
            process.wait(STOP_GRACE_SECONDS)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass

    def _drain_pending(self) -> None:
        try:
            while True:
                self._pending.get_nowait()
        except queue.Empty:
            pass

    # Called by the Runtime API handler ---------------------------------------------

    def _next_invocation(self) -> _Invocation | None:
        self._ready.set()
        while not self._stopped.is_set():
            try:
                invocation = self._pending.get(timeout=0.5)
            except queue.Empty:
                continue
            if invocation is None or invocation.result.done():
                continue  # a stop sentinel or an invocation that already timed out
            return invocation
        return None

    def _complete(self, request_id: str, body: bytes, is_error: bool) -> None:
        with self._lock:
            current = self._current
            if current is None or current.request_id != request_id or current.result.done():
                LOG.debug("%s: late or unknown response for %s ignored", self._function_label(), request_id)
                return
            current.result.set_result(self._result(current, body, is_error))

    def _init_failed(self, body: bytes) -> None:
        self._init_error = body

    # Logs ----------------------------------------------------------------------------

    def _result(self, invocation: _Invocation, body: bytes, is_error: bool = True) -> InvocationResult:
        return InvocationResult(invocation.request_id, body, is_error=is_error, logs=None)

    def _log_size(self) -> int:
        try:
            return self._log_path.stat().st_size
        except FileNotFoundError:
            return 0

    def _append_log(self, text: str) -> None:
        with open(self._log_path, "a", encoding="utf-8") as f:
            f.write(text)

    def _read_log(self, offset: int) -> str:
        try:
            with open(self._log_path, "rb") as f:
                f.seek(offset)
                return f.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def _echo(self, request_id: str, result: InvocationResult) -> None:
        if result.is_error:
            # Always visible: a failing function is what one debugs.
            FUNCTION_LOG.warning(
                "[%s %s] error %s\n%s",
                self._function_label(), request_id,
                (result.payload or b"").decode(errors="replace"), result.logs,
            )
        elif ECHO_LOGS:
            FUNCTION_LOG.info("[%s %s]\n%s", self._function_label(), request_id, (result.logs or "").rstrip())

    def _function_label(self) -> str:
        return self.function_version.id.function_name


def _log_dir() -> Path:
    # One file per execution environment, kept after it stops for post-mortems.
    # PHOTOPIPE_LAMBDA_LOG_DIR overrides; by default LocalStack's temp directory.
    path = Path(os.environ.get("PHOTOPIPE_LAMBDA_LOG_DIR") or Path(config.dirs.tmp) / "photopipe-lambda-logs")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _remove_tree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


class ProcessRuntimeExecutorPlugin(RuntimeExecutorPlugin):
    name = "photopipe-process"

    def load(self, *args: Any, **kwargs: Any) -> type[ProcessRuntimeExecutor]:
        return ProcessRuntimeExecutor
