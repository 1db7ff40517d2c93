"""Local state under `var/` (VAR_DIR): secrets generated once, so a restart keeps sessions and data readable,
and the SQLite database. All of it is owner-only: the directory 0700, its files 0600."""

import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet


def generate_secret_key() -> str:
    return secrets.token_urlsafe(50)


def generate_fernet_key() -> str:
    return Fernet.generate_key().decode()


def local_secret(path: Path, generator) -> str:
    """Return the secret stored at `path`, creating it (mode 0600) on first use."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    value = generator()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race: use its value
        return path.read_text().strip()
    with os.fdopen(fd, "w") as f:
        f.write(value + "\n")
    return value


def private_directory(path: Path) -> Path:
    """Create `path` owner-only (0700), or tighten it when it exists and is ours."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.stat().st_uid == os.getuid():
        path.chmod(0o700)
    return path


def private_file(path: Path) -> None:
    """Create `path` empty with mode 0600, or tighten it to 0600 when it exists and is ours."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileNotFoundError:  # its directory does not exist: not ours to make
        pass
    except FileExistsError:
        if path.stat().st_uid == os.getuid():
            path.chmod(0o600)
