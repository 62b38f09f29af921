"""Fixtures of the report tests; the hand-built results live in report_fakes.py."""

import sys
from pathlib import Path

import pytest

# The report tests import their helpers as ``report_fakes``; make that work in every pytest
# import mode, not only the default one that puts this folder on sys.path.
sys.path.insert(0, str(Path(__file__).parent))

from report_fakes import small_result as build_small_result


@pytest.fixture
def small_result():
    """A small hand-built check result (see report_fakes.small_result)."""
    return build_small_result()
