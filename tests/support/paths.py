"""Where the project is on disk, for tests that read its files (never outside it)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
