"""Secrets generated once for local use and kept under `var/`, so a restart keeps sessions and data readable."""

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
